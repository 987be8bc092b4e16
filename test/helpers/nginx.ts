import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './ports.js';
import { requireBinary } from './redis-server.js';

const TEMPLATE = fileURLToPath(new URL('../../scripts/nginx/mcp-ingress.conf.template', import.meta.url));

/** One nginx, run unprivileged from its own temp prefix, as the SSE ingress of a local cluster. */
export interface TestNginx {
  /** Base URL, e.g. http://127.0.0.1:41234 (the MCP endpoint is at `${url}/mcp`). */
  url: string;
  port: number;
  pid: number;
  /** The prefix folder holding the rendered nginx.conf, the logs and the temp dirs. */
  dir: string;
  errorLog: string;
  accessLog: string;
  /** The access log, one parsed line per request, to see which node served what. */
  accessLines(): Promise<AccessLine[]>;
  /** Stops nginx (SIGTERM, then SIGKILL to its process group). Removes the prefix unless `keep`. */
  stop(options?: { keep?: boolean }): Promise<void>;
  /**
   * Stops nginx gracefully (SIGQUIT), as a controller pod stops: it closes its listener at once, keeps
   * serving open connections for up to `worker_shutdown_timeout`, then exits. Resolves on exit.
   */
  quit(): Promise<void>;
}

export interface NginxOptions {
  /** `host:port` of every app node. */
  upstreams: string[];
  /** Port to listen on; a free one by default. */
  port?: number;
  /** Passive health check: failed attempts before a node is left out… */
  maxFails?: number;
  /** …and for how long, in seconds. */
  failTimeoutSeconds?: number;
  /** `worker_shutdown_timeout`, seconds: 240 by default, as the EKS ingress controllers run. */
  workerShutdownTimeoutSeconds?: number;
}

export interface AccessLine {
  request: string;
  status: number;
  /** Every node tried, in order (nginx lists each attempt when it fails over). */
  upstreams: string[];
  upstreamStatuses: string[];
  /** The X-Request-Id nginx passed on (the caller's, or one nginx made): nodes log it. */
  requestId: string;
}

/** The ingress config for these nodes, rendered from scripts/nginx/mcp-ingress.conf.template. */
export async function renderNginxConfig(
  prefix: string,
  options: Required<Omit<NginxOptions, 'port'>> & { port: number },
): Promise<string> {
  const template = await readFile(TEMPLATE, 'utf8');
  const servers = options.upstreams
    .map(
      (upstream) =>
        `    server ${upstream} max_fails=${options.maxFails} fail_timeout=${options.failTimeoutSeconds}s;`,
    )
    .join('\n');
  const values: Record<string, string> = {
    PREFIX: prefix,
    LISTEN: `127.0.0.1:${options.port}`,
    UPSTREAM_SERVERS: servers,
    MAX_FAILS: String(options.maxFails),
    FAIL_TIMEOUT: `${options.failTimeoutSeconds}s`,
    // Every node once, so that a request finds a live node whenever one exists.
    NEXT_UPSTREAM_TRIES: String(Math.max(1, options.upstreams.length)),
    WORKER_SHUTDOWN_TIMEOUT: `${options.workerShutdownTimeoutSeconds}s`,
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template: no value for {{${name}}}`);
    return value;
  });
}

export async function startNginx(options: NginxOptions): Promise<TestNginx> {
  requireBinary('nginx', 'nginx');
  if (options.upstreams.length === 0) throw new Error('startNginx: at least one upstream is needed');
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'mcp-fleet-nginx-'));
  // When the tests run as root, nginx's workers run as `nobody` and must reach the temp dirs.
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'tmp'));
  const config = join(dir, 'nginx.conf');
  const rendered = renderNginxConfig(dir, {
    upstreams: options.upstreams,
    port,
    maxFails: options.maxFails ?? 1,
    failTimeoutSeconds: options.failTimeoutSeconds ?? 5,
    workerShutdownTimeoutSeconds: options.workerShutdownTimeoutSeconds ?? 240,
  });
  await writeFile(config, await rendered).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });

  // Its own process group, so that a last-resort kill takes the workers down with the master.
  const child = spawn('nginx', ['-p', dir, '-c', config, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errorLog = join(dir, 'error.log');
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      `nginx to listen on ${url}`,
      async () => {
        if (child.exitCode !== null) {
          const log = await readFile(errorLog, 'utf8').catch(() => '');
          throw new Error(`nginx exited with ${child.exitCode}: ${stderr.join('')}${log}`);
        }
        // Any HTTP answer will do: nginx itself is up even when no node is.
        const response = await fetch(`${url}/health`).catch(() => undefined);
        if (response) await response.body?.cancel();
        return response !== undefined;
      },
      10_000,
    );
  } catch (err) {
    await stopProcess(child, exited);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    port,
    pid: child.pid ?? -1,
    dir,
    errorLog,
    accessLog: join(dir, 'access.log'),
    accessLines: async () => parseAccessLog(await readFile(join(dir, 'access.log'), 'utf8').catch(() => '')),
    stop: async ({ keep = false } = {}) => {
      await stopProcess(child, exited);
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
    quit: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // SIGTERM is nginx's fast shutdown: the master stops its workers, open event streams included
  // (a graceful SIGQUIT would wait up to an hour for them).
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

// Lists are comma-separated (`a, b`) when nginx tried more than one node.
const LIST = '[^\\s,]+(?:, [^\\s,]+)*';
const ACCESS_LINE = new RegExp(
  `"(?<request>[^"]*)" (?<status>\\d{3}) upstream=(?<upstream>${LIST}) upstream_status=(?<ustatus>${LIST}) .*request_id=(?<requestId>\\S+)`,
);

export function parseAccessLog(text: string): AccessLine[] {
  const lines: AccessLine[] = [];
  for (const line of text.split('\n')) {
    const match = ACCESS_LINE.exec(line);
    if (!match?.groups) continue;
    lines.push({
      request: match.groups.request ?? '',
      status: Number(match.groups.status),
      upstreams: (match.groups.upstream ?? '').split(', '),
      upstreamStatuses: (match.groups.ustatus ?? '').split(', '),
      requestId: match.groups.requestId ?? '',
    });
  }
  return lines;
}
