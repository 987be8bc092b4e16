import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Replayed, replay, runProbe, stopReplay, untilReady } from './boot.js';
import { edgeFetch } from './edge-fetch.js';
import { type ThrowawayCertificates, throwawayCertificates } from './tls.js';

/** The app booted exactly as each stack's task definition and pod spec start it (see boot.ts). */

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
        replayed = await replay(stack, platform, certificates);
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
        const anonymous = await viaEdge(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: {
              protocolVersion: '2025-06-18',
              capabilities: {},
              clientInfo: { name: 'anonymous', version: '1' },
            },
          }),
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
    });
  }
}
