import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postInitialize } from '../../helpers/raw-streamable.js';
import { type ThrowawayCertificates, throwawayCertificates } from '../../helpers/tls.js';
import { readStackConfig } from '../harness.js';
import { type Replayed, replay, runProbe, stopReplay, untilReady } from './boot.js';
import { edgeFetch } from './edge-fetch.js';

/** The app booted exactly as each stack's task definition and pod spec start it (see boot.ts). */

/** Which replica of the reference server answered: its `get-env` tool reports the loopback address it listens on. */
async function replicaOf(client: Client): Promise<string> {
  const result = (await client.callTool({ name: 'get-env', arguments: {} })) as {
    content: { text: string }[];
  };
  return (JSON.parse(result.content[0]?.text ?? '{}') as { LOOPBACK_HOST: string }).LOOPBACK_HOST;
}

let certificates: ThrowawayCertificates;
beforeAll(() => {
  // The image runs dist/ (app/Dockerfile); build it as the image's build stage does.
  execFileSync('npm', ['run', 'build'], { stdio: 'pipe' });
  certificates = throwawayCertificates();
}, 240_000);
afterAll(() => certificates?.remove());

for (const stack of ['staging', 'production'] as const) {
  for (const platform of ['ecs', 'eks'] as const) {
    describe(`replay: the app on ${stack}, started as ${platform === 'ecs' ? 'its ECS task definition' : 'its pod spec'} says`, () => {
      let replayed: Replayed;
      beforeAll(async () => {
        replayed = await replay(stack, platform, certificates, {}, { upstream: 'everything' });
      }, 180_000);
      afterAll(() => stopReplay(replayed));

      it('runs node on the built entry point, with the platform environment', () => {
        expect(replayed.argv).toEqual(['node', '--enable-source-maps', 'dist/app/main.js']);
        expect(replayed.env).toMatchObject({ NODE_ENV: 'production', AUTH_MODE: 'apikey' });
        expect(replayed.env.REDIS_URL).toMatch(/^rediss:\/\/:[A-Za-z0-9]{64}@127\.0\.0\.1:\d+$/);
      });

      it('answers 200 on /ready, with Redis reached over TLS with its AUTH token', async () => {
        const ready = await untilReady(replayed);
        expect(ready.status).toBe(200);
        expect(await replayed.redis.client().ping()).toBe('PONG');
      });

      it('serves /metrics on METRICS_PORT only: the port the load balancer reaches answers 404', async () => {
        expect(replayed.env.METRICS_PORT).toBeDefined();
        const traffic = await fetch(`http://127.0.0.1:${replayed.port}/metrics`);
        expect(traffic.status).toBe(404);
        await traffic.body?.cancel();
        const scrape = await fetch(`http://127.0.0.1:${replayed.env.METRICS_PORT}/metrics`);
        expect(scrape.status).toBe(200);
        expect(await scrape.text()).toMatch(/^# HELP /m);
      });

      it('passes every probe the platform runs against it', async () => {
        expect(replayed.container.probes.length).toBeGreaterThanOrEqual(platform === 'ecs' ? 2 : 3);
        const results = await Promise.all(
          replayed.container.probes.map((probe) => runProbe(probe, replayed)),
        );
        expect(results).toEqual(replayed.container.probes.map(() => 'passes'));
      });

      it('refuses initialize without the API key, and completes it for a real MCP client with the key', async () => {
        const url = new URL('/mcp', replayed.env.PUBLIC_URL);
        const viaEdge = edgeFetch(replayed.port);
        const anonymous = await postInitialize(replayed.env.PUBLIC_URL as string, {
          clientName: 'anonymous',
          fetch: viaEdge,
        });
        expect(anonymous.status).toBe(401);
        const key = (replayed.env.AUTH_API_KEYS as string).split(',')[0];
        const client = new Client({ name: 'replay-client', version: '1.0.0' });
        const transport = new StreamableHTTPClientTransport(url, {
          fetch: viaEdge,
          requestInit: { headers: { authorization: `Bearer ${key}` } },
        });
        try {
          await client.connect(transport);
          expect(client.getServerVersion()?.name).toBeTruthy();
          expect((await client.listTools()).tools.length).toBeGreaterThan(0);
          // The session record went to the Redis the task definition points at, under its key prefix.
          const keys = await replayed.redis.client().keys(`${replayed.env.REDIS_KEY_PREFIX}*`);
          expect(keys.length).toBeGreaterThan(0);
        } finally {
          await client.close();
        }
      });

      it("completes MCP calls through the everything server's URL in serverUrls, its sessions spread over both replicas of the real server-everything", async () => {
        const upstream = replayed.upstream!;
        // The transport the stack's argv selects, on the port the stack gives the container.
        expect(upstream.mode).toBe('streamableHttp');
        expect(upstream.container.env.PORT).toBe('3001');
        const url = new URL(replayed.serverUrls.everything as string);
        expect(url.pathname).toBe('/servers/everything/mcp');
        expect(url.origin).toBe(new URL(replayed.env.PUBLIC_URL as string).origin);
        const key = (replayed.env.AUTH_API_KEYS as string).split(',')[0];
        const replicas = new Set<string>();
        for (let session = 0; session < 4; session++) {
          const client = new Client({ name: `replay-gateway-${session}`, version: '1.0.0' });
          const transport = new StreamableHTTPClientTransport(url, {
            fetch: edgeFetch(replayed.port),
            requestInit: { headers: { authorization: `Bearer ${key}` } },
          });
          try {
            await client.connect(transport);
            const replica = await replicaOf(client);
            for (let call = 0; call < 2; call++) {
              expect(
                await client.callTool({ name: 'echo', arguments: { message: `${session}.${call}` } }),
              ).toMatchObject({
                content: [{ type: 'text', text: `Echo: ${session}.${call}` }],
              });
              // Each call of a session reaches the replica holding it (any other answers 400).
              expect(await replicaOf(client)).toBe(replica);
            }
            replicas.add(replica);
          } finally {
            await client.close();
          }
        }
        expect([...replicas].sort()).toEqual(
          upstream.replicas.map((replica) => new URL(replica.url).hostname).sort(),
        );
        for (const replica of upstream.replicas) {
          expect(
            replica.logs.some((line) => line.includes('Session initialized')),
            replica.name,
          ).toBe(true);
        }
        // The app found them by the name in UPSTREAMS, through DNS.
        expect(upstream.dns.queries(upstream.hostname)).toBeGreaterThan(0);
      });
    });
  }
}

/**
 * `auth.adminKeys` on the app: the program generates AUTH_ADMIN_API_KEYS and delivers it like the API
 * keys (ECS task `secrets` from Secrets Manager, a key of the EKS Secret). Booted as each platform
 * starts it, an admin key may call notify_change and an ordinary key may not.
 */

const servers = readStackConfig('staging').servers as Record<string, Record<string, unknown>>;
const withAdminKeys = {
  servers: { ...servers, app: { ...servers.app, auth: { mode: 'apikey', adminKeys: true } } },
};

async function notifyAs(replayed: Replayed, key: string) {
  const client = new Client({ name: 'replay-admin', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', replayed.env.PUBLIC_URL), {
    fetch: edgeFetch(replayed.port),
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  try {
    return await client.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });
  } finally {
    await client.close();
  }
}

const text = (result: Awaited<ReturnType<typeof notifyAs>>) =>
  (result.content as { type: string; text?: string }[]).map((part) => part.text ?? '').join('');

for (const platform of ['ecs', 'eks'] as const) {
  describe(`admin keys on ${platform}: delivered by auth.adminKeys, honoured by the app`, () => {
    let replayed: Replayed;
    beforeAll(async () => {
      replayed = await replay('staging', platform, certificates, withAdminKeys);
      await untilReady(replayed);
    }, 180_000);
    afterAll(() => stopReplay(replayed));

    it('hands the app a generated admin key next to its API key, both 48 characters', () => {
      expect(replayed.env.AUTH_API_KEYS).toMatch(/^[A-Za-z0-9]{48}$/);
      expect(replayed.env.AUTH_ADMIN_API_KEYS).toMatch(/^[A-Za-z0-9]{48}$/);
      expect(replayed.env.AUTH_ADMIN_API_KEYS).not.toBe(replayed.env.AUTH_API_KEYS);
    });

    it('lets the admin key call notify_change, and refuses it to the ordinary key', async () => {
      const ordinary = await notifyAs(replayed, replayed.env.AUTH_API_KEYS as string);
      expect(ordinary.isError).toBe(true);
      expect(text(ordinary)).toMatch(/^Forbidden: notify_change/);
      const admin = await notifyAs(replayed, replayed.env.AUTH_ADMIN_API_KEYS as string);
      expect(admin.isError).toBeFalsy();
      expect(text(admin)).toBe('Published tools_list_changed to every node.');
    });
  });
}
