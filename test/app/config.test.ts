import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { spawnApp } from '../helpers/app-node.js';
import { configProblemsOf } from '../helpers/config-problems.js';

describe('configuration from the environment', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      redisUrl: undefined,
      redisKeyPrefix: 'mcp-fleet:',
      logLevel: 'info',
      sessionTtlSeconds: 1800,
      sessionCacheMax: 10_000,
      sseHeartbeatSeconds: 15,
      shutdownGraceSeconds: 25,
      stateKeyGenerated: true,
    });
    expect(config.nodeId).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{6}$/);
    expect(Buffer.byteLength(config.stateKey)).toBeGreaterThanOrEqual(32);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT: expected an integer from 0 to 65535, got "abc"'],
    [{ PORT: '70000' }, 'PORT: expected an integer from 0 to 65535'],
    [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL: expected a redis:// or rediss:// URL'],
    [{ REDIS_URL: 'redis://cache:6379' }, 'MCP_STATE_KEY: required when REDIS_URL is set'],
    [{ MCP_STATE_KEY: 'too-short' }, 'MCP_STATE_KEY: expected at least 32 bytes'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL:'],
    [{ SESSION_TTL_SECONDS: '0' }, 'SESSION_TTL_SECONDS: expected an integer from 2 to 604800'],
    [{ SSE_HEARTBEAT_SECONDS: '1.5' }, 'SSE_HEARTBEAT_SECONDS: expected an integer'],
    [{ SHUTDOWN_GRACE_SECONDS: '-1' }, 'SHUTDOWN_GRACE_SECONDS: expected an integer'],
    [{ REDIS_CLUSTER: 'yes' }, 'REDIS_CLUSTER: expected 1 or true'],
    [{ REDIS_CLUSTER: 'true' }, 'REDIS_CLUSTER: needs REDIS_URL'],
    [{ REDIS_KEY_PREFIX: 'has space' }, 'REDIS_KEY_PREFIX: expected 1-64 characters'],
    [{ NODE_ID: 'a/b' }, 'NODE_ID: expected 1-128 characters'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV:'],
    [{ METRICS_PORT: '9464x' }, 'METRICS_PORT: expected an integer from 0 to 65535, got "9464x"'],
    [{ PORT: '3000', METRICS_PORT: '3000' }, 'METRICS_PORT: expected a port other than PORT (3000)'],
    [{ QUOTA_MEMORY_BYTES: '-1' }, 'QUOTA_MEMORY_BYTES: expected an integer from 0 to 1073741824'],
    [{ QUOTA_SESSIONS_PER_PRINCIPAL: 'many' }, 'QUOTA_SESSIONS_PER_PRINCIPAL: expected an integer'],
    [{ LISTEN_MAX_SUBSCRIPTIONS: '0' }, 'LISTEN_MAX_SUBSCRIPTIONS: expected an integer from 1'],
    [{ OAUTH_ADMIN_SCOPE: 'mcp admin' }, 'OAUTH_ADMIN_SCOPE: expected one OAuth scope'],
    [{ AUTH_ADMIN_API_KEYS: 'short' }, 'AUTH_ADMIN_API_KEYS: expected comma-separated keys'],
  ])('rejects %o, naming the variable', (env, expected) => {
    expect(configProblemsOf(env as Record<string, string>).join('\n')).toContain(expected);
  });

  it('takes REDIS_URL as a cluster seed node only with REDIS_CLUSTER', () => {
    const standalone = { REDIS_URL: 'rediss://cache:6379', MCP_STATE_KEY: 'k'.repeat(32) };
    expect(loadConfig(standalone).redisCluster).toBe(false);
    expect(loadConfig({ ...standalone, REDIS_CLUSTER: 'true' }).redisCluster).toBe(true);
  });

  it('serves /metrics on the traffic port unless METRICS_PORT names another one', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
  });

  it('has quotas on by default, and takes administrator keys alone in apikey mode', () => {
    expect(loadConfig({}).quotas).toEqual({
      memoryKeys: 1000,
      memoryBytes: 1024 ** 2,
      sessionsPerPrincipal: 200,
      streamsPerPrincipal: 100,
      listenStreamsPerNode: 1024,
    });
    const config = loadConfig({ AUTH_MODE: 'apikey', AUTH_ADMIN_API_KEYS: 'an-admin-key-0123456789' });
    expect(config.auth).toMatchObject({
      apiKeys: [],
      adminApiKeys: ['an-admin-key-0123456789'],
      adminScope: 'mcp:admin',
    });
  });

  it('reports every bad variable at once', () => {
    expect(configProblemsOf({ PORT: 'x', LOG_LEVEL: 'y' })).toHaveLength(2);
  });

  it('accepts a TLS Redis URL with an AUTH token, as ElastiCache needs', () => {
    const config = loadConfig({
      REDIS_URL: 'rediss://:s3cret@cache.example:6379',
      MCP_STATE_KEY: 'k'.repeat(32),
    });
    expect(config.redisUrl).toBe('rediss://:s3cret@cache.example:6379');
    expect(config.stateKeyGenerated).toBe(false);
  });

  it('stops the process at start with exit code 78 and the variable in the message', async () => {
    const { child, logs } = spawnApp({ PORT: 'not-a-port', REDIS_URL: 'redis://127.0.0.1:1' });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(78);
    const line = JSON.parse(logs.join('')) as { level: string; problems: string[] };
    expect(line.level).toBe('fatal');
    expect(line.problems.join('\n')).toContain('PORT: expected an integer');
    expect(line.problems.join('\n')).toContain('MCP_STATE_KEY: required when REDIS_URL is set');
  });

  it('fails clearly when the port is taken', async () => {
    const first = spawnApp({ PORT: '0' });
    const url = await new Promise<string>((resolve) => {
      first.child.stdout?.on('data', () => {
        const listening = first.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'listening');
        if (listening) resolve(listening.url);
      });
    });
    const port = new URL(url).port;
    const second = spawnApp({ PORT: port });
    const code = await new Promise((resolve) => second.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    expect(code).toBe(1);
    expect(second.logs.join('\n')).toContain('EADDRINUSE');
  });
});
