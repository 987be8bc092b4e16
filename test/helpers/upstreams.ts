import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NODE22 } from './conformance.js';
import { freePort, waitFor } from './ports.js';

/**
 * Third-party MCP servers for the gateway tests and `npm run cluster -- --upstreams`, run as
 * child processes on loopback:
 * - the reference server `@modelcontextprotocol/server-everything` (pinned in test/tools, run by
 *   that package's Node 22), in its `streamableHttp` or `sse` mode;
 * - header-echo (test/helpers/upstreams/header-echo-server.ts), a stateful v1-SDK server that
 *   reports the headers it received.
 */
export interface Upstream {
  /** Base URL, e.g. http://127.0.0.1:41234 (the MCP endpoint is `/mcp`, or `/sse` in SSE mode). */
  url: string;
  name: string;
  process: ChildProcess;
  logs: string[];
  exited: Promise<number | NodeJS.Signals>;
  /** SIGKILL by default: the crash the gateway must survive. */
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EVERYTHING = fileURLToPath(
  new URL('../tools/node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
);
const LOOPBACK_ONLY = fileURLToPath(new URL('./upstreams/loopback-only.mjs', import.meta.url));
const HEADER_ECHO = 'test/helpers/upstreams/header-echo-server.ts';

export type EverythingMode = 'streamableHttp' | 'sse';

export function requireEverythingServer(): void {
  for (const path of [NODE22, EVERYTHING]) {
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: install the test tools with  npm ci --prefix test/tools`);
    }
  }
}

/**
 * One replica of the reference server. It listens on every interface by itself; the preload keeps it
 * on loopback: 127.0.0.1 and a free port, or the `host` and `port` given (any 127.x.y.z address, so
 * replicas can share a port as DNS instances do). `env` is the rest of its environment.
 */
export async function startEverything(
  mode: EverythingMode,
  name: string,
  options: { host?: string; port?: number; env?: Record<string, string> } = {},
): Promise<Upstream> {
  requireEverythingServer();
  const port = options.port ?? (await freePort());
  const host = options.host ?? '127.0.0.1';
  const upstream = launch(name, NODE22, ['--import', LOOPBACK_ONLY, EVERYTHING, mode], {
    ...options.env,
    PORT: String(port),
    LOOPBACK_HOST: host,
  });
  const url = `http://${host}:${port}`;
  await waitFor(
    `${name} (server-everything ${mode}) on ${url}`,
    async () => {
      if (upstream.process.exitCode !== null) throw new Error(`${name} exited:\n${upstream.logs.join('\n')}`);
      // Any HTTP answer means it listens (GET / is a 404 from its Express app).
      const answer = await fetch(`${url}/`).catch(() => undefined);
      await answer?.body?.cancel();
      return answer !== undefined;
    },
    30_000,
  ).catch(async (err: unknown) => {
    await upstream.kill();
    throw err;
  });
  return { ...upstream, url };
}

/** One replica of header-echo, on `host` (any 127.x.y.z address: several replicas can share a port, as DNS instances do). */
export async function startHeaderEcho(
  name: string,
  options: { host?: string; port?: number } = {},
): Promise<Upstream> {
  const upstream = launch(name, process.execPath, ['--import', 'tsx', HEADER_ECHO], {
    INSTANCE: name,
    HOST: options.host ?? '127.0.0.1',
    PORT: String(options.port ?? 0),
  });
  const url = await waitFor(
    `${name} (header-echo) to listen`,
    () => {
      if (upstream.process.exitCode !== null) throw new Error(`${name} exited:\n${upstream.logs.join('\n')}`);
      for (const line of upstream.logs) {
        if (line.includes('"listening"')) return (JSON.parse(line) as { url: string }).url;
      }
      return undefined;
    },
    30_000,
  ).catch(async (err: unknown) => {
    await upstream.kill();
    throw err;
  });
  return { ...upstream, url };
}

function launch(
  name: string,
  node: string,
  args: string[],
  env: Record<string, string>,
): Omit<Upstream, 'url'> {
  const child = spawn(node, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(line);
    // The reference server logs a line per request; keep the newest only.
    if (logs.length > 500) logs.splice(0, logs.length - 500);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    name,
    process: child,
    logs,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
