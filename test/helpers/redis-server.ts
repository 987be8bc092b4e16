import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './ports.js';

/**
 * A private redis-server on a free loopback port, never the shared one. It can be stopped and
 * started again on the same port, for fault tests.
 */
export interface TestRedis {
  url: string;
  port: number;
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

export async function startTestRedis(): Promise<TestRedis> {
  requireBinary('redis-server', 'redis-server');
  const port = await freePort();
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
        '--appendonly',
        'no',
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
    },
  };
}
