import { execFile } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { type AppNode, safeJson, spawnApp } from '../../helpers/app-node.js';
import { freePort, waitFor } from '../../helpers/ports.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server.js';
import type { ThrowawayCertificates } from '../../helpers/tls.js';
import { appImageConfig } from '../checks/start-checks.js';
import { userSettings } from '../expectations.js';
import { promiseOf, readStackConfig, runProgram, type Stack } from '../harness.js';
import { containerArgv, startedProcess } from '../outcome/container-start.js';
import { ResourceGraph, T } from '../outcome/graph.js';
import { ecsContainer, type PlatformContainer, type Probe, podContainer } from './environment.js';
import { type ReplayedUpstream, startUpstream } from './upstreams.js';

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
 *   since the mocks hand out short markers;
 * - with `upstream`, that third-party server runs as replicas on loopback behind a local DNS server
 *   that answers its name in UPSTREAMS (see upstreams.ts), and UPSTREAM_DNS_SERVERS points there.
 */

const execFileAsync = promisify(execFile);

export interface Replayed {
  container: PlatformContainer;
  argv: string[];
  env: Record<string, string>;
  port: number;
  redis: TestRedis;
  app: AppNode['process'];
  logs: string[];
  /** The stack's `serverUrls` output: server name → the URL clients are given. */
  serverUrls: Record<string, string>;
  upstream?: ReplayedUpstream;
}

/**
 * Captures the program for `stack` on `platform` (plus `overrides` of the stack config) and starts the
 * app as its task definition or pod spec says, against a TLS redis-server that wants its AUTH token.
 */
export async function replay(
  stack: Stack,
  platform: 'ecs' | 'eks',
  certificates: ThrowawayCertificates,
  overrides: Record<string, unknown> = {},
  options: { upstream?: string } = {},
): Promise<Replayed> {
  const settings = { ...userSettings(stack, platform), ...overrides };
  const run = await runProgram(stack, settings);
  const graph = new ResourceGraph(run.resources);
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
  const upstream = options.upstream
    ? await startUpstream(
        graph,
        platform,
        { ...readStackConfig(stack), ...settings },
        container.env,
        options.upstream,
      ).catch(async (err: unknown) => {
        await redis.close();
        throw err;
      })
    : undefined;
  const env = {
    ...container.env,
    ...(upstream ? { UPSTREAM_DNS_SERVERS: upstream.dns.address } : {}),
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
  await Promise.race([listening, refused]).catch(async (err: unknown) => {
    // Nothing this replay started may outlive it.
    child.kill('SIGKILL');
    await redis.close();
    await upstream?.close();
    throw err;
  });
  const serverUrls = (await promiseOf(run.outputs.serverUrls)) as Record<string, string>;
  return { container, argv, env, port, redis, app: child, logs, serverUrls, upstream };
}

export async function runProbe(probe: Probe, replayed: Replayed): Promise<string> {
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

/** Waits, as the platform's readiness checks do, until /ready answers 200; fails with its last answer. */
export async function untilReady(replayed: Replayed): Promise<Response> {
  // The app turns ready once its Redis subscriber hears its own publish, a moment after it listens.
  // 30 s is inside both platforms' start budget (ECS health-check grace 60 s; startup probe 2 s × 30).
  return waitFor(
    'the replayed app to answer 200 on /ready',
    async () => {
      const response = await fetch(`http://127.0.0.1:${replayed.port}/ready`);
      return response.status === 200 ? response : undefined;
    },
    30_000,
    250,
  ).catch(async (err: Error) => {
    const last = await fetch(`http://127.0.0.1:${replayed.port}/ready`);
    throw new Error(`${err.message}; last answer ${last.status} ${await last.text()}`);
  });
}

/** Teardown, not a drain test: the app's drain is tested in test/app. */
export async function stopReplay(replayed: Replayed | undefined): Promise<void> {
  if (replayed?.app.exitCode === null) {
    const exited = new Promise((resolve) => replayed.app.once('exit', resolve));
    replayed.app.kill('SIGKILL');
    await exited;
  }
  await replayed?.redis.close();
  await replayed?.upstream?.close();
}
