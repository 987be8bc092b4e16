import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort, waitFor } from './ports.js';

/**
 * A private redis-server on a free loopback port, never the shared one. It can be stopped and
 * started again on the same port, for fault tests.
 */
export interface TestRedis {
  url: string;
  port: number;
  /** The running redis-server's pid, undefined while stopped. */
  readonly pid: number | undefined;
  /** A plain client for assertions on what the app stored. */
  client(): Redis;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function requireBinary(binary: string, aptPackage: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
  if (!found) {
    throw new Error(`${binary} is not installed. Install it with: sudo apt-get install -y ${aptPackage}`);
  }
}

export interface TestRedisOptions {
  /**
   * Keep the data across `stop()`/`start()` (an append-only file fsynced on every write, in a temp
   * dir), as a production Redis keeps it across a restart. Off by default: an outage then also
   * loses every key, the harsher case.
   */
  durable?: boolean;
  /** Start as a replica of the Redis on this loopback port (`--replicaof`), as an ElastiCache replica runs. */
  replicaOf?: number;
  /**
   * Serve TLS only, as ElastiCache does with in-transit encryption: `url` becomes `rediss://`.
   * The CA is what a client must trust (NODE_EXTRA_CA_CERTS for a child process).
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** Require this password, as ElastiCache requires its AUTH token. */
  password?: string;
}

export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  requireBinary('redis-server', 'redis-server');
  const port = await freePort();
  // Its own working directory even without persistence: a replica (and a demoted primary) writes
  // the RDB it receives from its primary there.
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-fleet-redis-'));
  const persistence = options.durable
    ? ['--dir', dataDir, '--appendonly', 'yes', '--appendfsync', 'always']
    : ['--dir', dataDir, '--appendonly', 'no'];
  const replication = options.replicaOf ? ['--replicaof', '127.0.0.1', String(options.replicaOf)] : [];
  const { tls, password } = options;
  const auth = password ? `:${encodeURIComponent(password)}@` : '';
  const url = `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`;
  const clientOptions: RedisOptions = tls ? { tls: { ca: readFileSync(tls.caFile) } } : {};
  // TLS only, and no client certificate asked for (ElastiCache asks for none).
  const listenArgs = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const tlsArgs = tls
    ? ['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile]
    : [];
  const authArgs = password ? ['--requirepass', password] : [];
  let child: ChildProcess | undefined;
  const clients: Redis[] = [];

  const ping = async () => {
    const probe = new Redis(url, {
      ...clientOptions,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } finally {
      probe.disconnect();
    }
  };

  const start = async () => {
    child = spawn(
      'redis-server',
      [
        ...listenArgs,
        ...tlsArgs,
        ...authArgs,
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...persistence,
        ...replication,
        '--protected-mode',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(`redis-server on port ${port}`, ping);
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url,
    port,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    client: () => {
      const client = new Redis(url, clientOptions);
      clients.push(client);
      return client;
    },
    stop,
    start,
    close: async () => {
      for (const client of clients) client.disconnect();
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
