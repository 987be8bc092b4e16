import { execFile, execFileSync } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, safeJson, spawnApp } from '../../helpers/app-node.js';
import { freePort, waitFor } from '../../helpers/ports.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server.js';
import { appImageConfig } from '../checks/start-checks.js';
import { runProgram, type Stack } from '../harness.js';
import { containerArgv, startedProcess } from '../outcome/container-start.js';
import { ResourceGraph, T } from '../outcome/graph.js';
import { edgeFetch } from './edge-fetch.js';
import { ecsContainer, type PlatformContainer, type Probe, podContainer } from './environment.js';
import { type ThrowawayCertificates, throwawayCertificates } from './tls.js';

/**
 * Replays the app as each platform would start it: the built image's process (argv from
 * app/Dockerfile and the task definition or pod spec), with exactly the environment the captured
 * program gives it, secrets resolved from the stores the platform reads. What differs, and why:
 * - the container port (and METRICS_PORT, if set) is mapped to a free local port and HOST is
 *   127.0.0.1 (this machine serves on loopback only); probes and the health-check command address
 *   the mapped port;
 * - REDIS_URL keeps its scheme (rediss) and its AUTH token, but points at a local redis-server that
 *   serves TLS with a throwaway certificate and requires that token, instead of the ElastiCache
 *   endpoint; NODE_EXTRA_CA_CERTS makes the app trust the throwaway CA (ElastiCache's chain is public);
 * - generated secrets (the Redis token, MCP_STATE_KEY) get fresh values of their declared length,
 *   since the mocks hand out short markers.
 */

const execFileAsync = promisify(execFile);

let certificates: ThrowawayCertificates;
beforeAll(() => {
  // The image runs dist/ (app/Dockerfile); build it as the image's build stage does.
  execFileSync('npm', ['run', 'build'], { stdio: 'pipe' });
  certificates = throwawayCertificates();
}, 240_000);
afterAll(() => certificates?.remove());

interface Replayed {
  container: PlatformContainer;
  argv: string[];
  env: Record<string, string>;
  port: number;
  redis: TestRedis;
  app: AppNode['process'];
  logs: string[];
}

async function replay(stack: Stack, platform: 'ecs' | 'eks'): Promise<Replayed> {
  const graph = new ResourceGraph((await runProgram(stack, { platform })).resources);
  const container =
    platform === 'ecs'
      ? ecsContainer(graph, graph.find(T.ecsService, 'app-service')!, 'app')
      : podContainer(graph, graph.find(T.deployment, 'app-deployment')!, 'app', 'app-7c9d5b8f6d-q2x8z');
  const argv = startedProcess(containerArgv(appImageConfig(), container.overrides));
  const captured = new URL(container.env.REDIS_URL as string);
  const redis = await startTestRedis({ tls: certificates, password: decodeURIComponent(captured.password) });
  const port = await freePort();
  const local = new URL(redis.url);
  captured.hostname = local.hostname;
  captured.port = local.port;
  const env = {
    ...container.env,
    PORT: String(port),
    // The separate metrics port, when the program sets one, is mapped like the traffic port.
    ...(container.env.METRICS_PORT ? { METRICS_PORT: String(await freePort()) } : {}),
    HOST: '127.0.0.1',
    REDIS_URL: captured.toString(),
    NODE_EXTRA_CA_CERTS: certificates.caFile,
  };
  expect(argv[0]).toBe('node');
  const { child, logs } = spawnApp(env, { entry: argv.slice(1) });
  // A config the app refuses ends the process at once: fail with its message, not after a timeout.
  const refused = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the app exited with ${code}:\n${logs.join('\n')}`))),
  );
  refused.catch(() => undefined);
  const listening = waitFor(
    'the replayed app to listen',
    () => logs.some((line) => safeJson(line)?.msg === 'listening') || undefined,
    60_000,
  );
  await Promise.race([listening, refused]);
  return { container, argv, env, port, redis, app: child, logs };
}

async function runProbe(probe: Probe, replayed: Replayed): Promise<string> {
  const { port, container } = replayed;
  if (probe.kind === 'http') {
    const response = await fetch(`http://127.0.0.1:${port}${probe.path}`);
    return probe.accepts(response.status)
      ? 'passes'
      : `${probe.source}: GET ${probe.path} answered ${response.status}`;
  }
  if (probe.kind === 'tcp') {
    return new Promise((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve('passes');
      });
      socket.on('error', (err) => resolve(`${probe.source}: ${err.message}`));
    });
  }
  // Runs inside the container, against the container port: the mapped one here.
  const [command, ...args] = probe.argv.map((arg) =>
    arg.replaceAll(`:${container.containerPort}/`, `:${port}/`),
  );
  try {
    await execFileAsync(command === 'node' ? process.execPath : (command as string), args, {
      env: replayed.env,
      timeout: 10_000,
    });
    return 'passes';
  } catch (err) {
    return `${probe.source}: ${(err as Error).message}`;
  }
}

for (const stack of ['staging', 'production'] as const) {
  for (const platform of ['ecs', 'eks'] as const) {
    describe(`replay: the app on ${stack}, started as ${platform === 'ecs' ? 'its ECS task definition' : 'its pod spec'} says`, () => {
      let replayed: Replayed;
      beforeAll(async () => {
        replayed = await replay(stack, platform);
      }, 180_000);
      afterAll(async () => {
        // Teardown, not a drain test: the app's drain is tested in test/app.
        if (replayed?.app.exitCode === null) {
          const exited = new Promise((resolve) => replayed.app.once('exit', resolve));
          replayed.app.kill('SIGKILL');
          await exited;
        }
        await replayed?.redis.close();
      });

      it('runs node on the built entry point, with the platform environment', () => {
        expect(replayed.argv).toEqual(['node', '--enable-source-maps', 'dist/app/main.js']);
        expect(replayed.env).toMatchObject({ NODE_ENV: 'production', AUTH_MODE: 'apikey' });
        expect(replayed.env.REDIS_URL).toMatch(/^rediss:\/\/:[A-Za-z0-9]{64}@127\.0\.0\.1:\d+$/);
      });

      it('answers 200 on /ready, with Redis reached over TLS with its AUTH token', async () => {
        const response = await fetch(`http://127.0.0.1:${replayed.port}/ready`);
        expect(response.status).toBe(200);
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
