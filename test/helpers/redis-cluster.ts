import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { freePort, waitFor } from './ports.js';
import { requireBinary } from './redis-server.js';

const run = promisify(execFile);

/**
 * A private Redis Cluster of primaries only, on free loopback ports: the shape of ElastiCache's
 * cluster mode without its replicas. `url` is one seed node, as the configuration endpoint is.
 * It can be stopped and started again (every shard, on the same ports, rejoining from its
 * nodes.conf), for fault tests.
 */
export interface TestRedisCluster {
  /** The seed node's URL: the app gets it as REDIS_URL, with REDIS_CLUSTER=true. */
  url: string;
  /** Every shard's client port. */
  ports: number[];
  /** The running redis-servers' pids (none while stopped). */
  readonly pids: number[];
  /** A cluster client for assertions on what the app stored. */
  client(): Cluster;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface TestRedisClusterOptions {
  shards?: number;
  /**
   * Keep each shard's data across `stop()`/`start()` (an append-only file fsynced on every write),
   * as a production Redis keeps it across a restart. Off by default.
   */
  durable?: boolean;
  /**
   * Serve TLS only, clients and cluster bus, as ElastiCache does with in-transit encryption: `url`
   * becomes `rediss://`. The CA is what a client must trust (NODE_EXTRA_CA_CERTS for a child process).
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** Require this password on every shard, as ElastiCache requires its AUTH token. */
  password?: string;
}

export async function startTestRedisCluster(
  options: TestRedisClusterOptions = {},
): Promise<TestRedisCluster> {
  requireBinary('redis-server', 'redis-server');
  requireBinary('redis-cli', 'redis-tools'); // redis-server's package on Debian and Ubuntu
  const shards = options.shards ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-redis-cluster-'));
  // Each shard needs two ports: clients, and the cluster bus (`--cluster-port`; by default the
  // client port + 10000, which may be taken or above 65535).
  const ports: number[] = [];
  const busPorts: number[] = [];
  const taken = new Set<number>();
  while (taken.size < shards * 2) taken.add(await freePort());
  const free = [...taken];
  for (let i = 0; i < shards; i++) {
    ports.push(free[i * 2] as number);
    busPorts.push(free[i * 2 + 1] as number);
  }
  const { tls, password } = options;
  const clientOptions: RedisOptions = {
    ...(tls ? { tls: { ca: readFileSync(tls.caFile) } } : {}),
    ...(password ? { password } : {}),
  };
  const listenArgs = (port: number) =>
    tls
      ? [
          ...['--port', '0', '--tls-port', String(port), '--tls-cluster', 'yes', '--tls-auth-clients', 'no'],
          ...[
            '--tls-cert-file',
            tls.certFile,
            '--tls-key-file',
            tls.keyFile,
            '--tls-ca-cert-file',
            tls.caFile,
          ],
        ]
      : ['--port', String(port)];
  const authArgs = password ? ['--requirepass', password, '--masterauth', password] : [];
  const cliArgs = [
    ...(tls ? ['--tls', '--cacert', tls.caFile] : []),
    ...(password ? ['--no-auth-warning', '-a', password] : []),
  ];
  let children: ChildProcess[] = [];
  const clients: (Cluster | Redis)[] = [];

  const spawnShard = (port: number, i: number) =>
    spawn(
      'redis-server',
      [
        ...listenArgs(port),
        ...authArgs,
        '--cluster-port',
        String(busPorts[i]),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
        '--dbfilename',
        `dump-${port}.rdb`,
        '--save',
        '',
        ...(options.durable
          ? ['--appendonly', 'yes', '--appendfsync', 'always', '--appendfilename', `appendonly-${port}.aof`]
          : ['--appendonly', 'no']),
        '--protected-mode',
        'yes',
      ],
      { stdio: 'ignore' },
    );

  const info = async (port: number) => {
    const probe = new Redis({
      ...clientOptions,
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return await probe.cluster('INFO');
    } finally {
      probe.disconnect();
    }
  };

  const start = async () => {
    children = ports.map((port, i) => spawnShard(port, i));
    await Promise.all(ports.map((port) => waitFor(`redis-server on port ${port}`, () => info(port))));
  };

  const clusterOk = () =>
    waitFor(
      'cluster_state:ok on every shard',
      async () => (await Promise.all(ports.map(info))).every((text) => text.includes('cluster_state:ok')),
      30_000,
      100,
    );

  const stop = async () => {
    const running = children;
    children = [];
    await Promise.all(
      running.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
  };

  try {
    await start();
    await run('redis-cli', [
      ...cliArgs,
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await clusterOk();
  } catch (err) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url: `${tls ? 'rediss' : 'redis'}://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${ports[0]}`,
    ports,
    get pids() {
      return children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid as number);
    },
    client: () => {
      const client = new Cluster([{ host: '127.0.0.1', port: ports[0] as number }], {
        redisOptions: clientOptions,
      });
      clients.push(client);
      return client;
    },
    stop,
    start: async () => {
      await start();
      await clusterOk();
    },
    close: async () => {
      for (const client of clients) client.disconnect();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
