import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
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
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const clients: Redis[] = [];

  const ping = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
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
        '--port',
        String(port),
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
      const client = new Redis(url);
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
