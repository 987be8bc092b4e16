import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The node's logger (app/logger.ts), run in a process of its own and read from its stdout, as an
 * operator's log pipeline reads it: a secret logged under a known name never reaches a line, at the
 * top level or nested under whatever key the code put it, and the objects logged are left as they
 * were for the code that still holds them.
 */
const SCRIPT = `
import { createLogger } from './app/logger.ts';
const logger = createLogger({ level: 'info', nodeId: 'secrets' });
const config = { redisUrl: 'rediss://:pw-config@redis:6379', port: 6379, MCP_STATE_KEY: 'state-key-top' };
const request = {
  headers: { authorization: 'Bearer header-token', cookie: 'sid=cookie-value', 'x-api-key': 'api-key-header', accept: 'application/json' },
};
const deep = { auth: { apiKeys: ['api-key-deep'] }, authInfo: { token: 'authinfo-token', clientId: 'client-1' } };
const err = Object.assign(new Error('boom'), { headers: { authorization: 'Bearer error-token' } });
logger.info({ config }, 'config');
logger.info({ request }, 'request');
logger.info({ token: 'top-token', password: 'top-password', secret: 'top-secret' }, 'top');
logger.info({ any: deep, list: [{ accessToken: 'in-a-list' }] }, 'deep');
logger.info({ err }, 'error');
logger.info({ requestId: 'r-1', method: 'POST', route: '/mcp', status: 200, durationMs: 3 }, 'plain');
const child = logger.child({ component: 'child', token: 'child-binding-token' });
child.info('child');
child.child({ password: 'grandchild-password' }).info('grandchild');
process.stderr.write(JSON.stringify({ config, request, deep, headers: err.headers }));
`;

const SECRETS = [
  'pw-config',
  'state-key-top',
  'header-token',
  'cookie-value',
  'api-key-header',
  'api-key-deep',
  'authinfo-token',
  'error-token',
  'top-token',
  'top-password',
  'top-secret',
  'in-a-list',
  'child-binding-token',
  'grandchild-password',
];

describe('log lines censor secrets wherever they sit', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
    cwd: process.cwd(),
    encoding: 'utf8',
  });
  const lines = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  // biome-ignore lint/suspicious/noExplicitAny: assertions on parsed JSON lines
  const byMsg = (msg: string) => lines.find((line) => line.msg === msg) as Record<string, any>;

  it('writes every line, and none holds a secret', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(lines.map((line) => line.msg)).toEqual([
      'config',
      'request',
      'top',
      'deep',
      'error',
      'plain',
      'child',
      'grandchild',
    ]);
    for (const secret of SECRETS) expect(run.stdout).not.toContain(secret);
  });

  it('censors by name at any depth and keeps everything else', () => {
    expect(byMsg('config').config).toEqual({
      redisUrl: '[redacted]',
      port: 6379,
      MCP_STATE_KEY: '[redacted]',
    });
    expect(byMsg('request').request.headers).toEqual({
      authorization: '[redacted]',
      cookie: '[redacted]',
      'x-api-key': '[redacted]',
      accept: 'application/json',
    });
    expect(byMsg('top')).toMatchObject({ token: '[redacted]', password: '[redacted]', secret: '[redacted]' });
    expect(byMsg('deep').any).toEqual({
      auth: { apiKeys: '[redacted]' },
      authInfo: { token: '[redacted]', clientId: 'client-1' },
    });
    expect(byMsg('deep').list).toEqual([{ accessToken: '[redacted]' }]);
    expect(byMsg('error').err).toMatchObject({
      type: 'Error',
      message: 'boom',
      headers: { authorization: '[redacted]' },
    });
    expect(byMsg('error').err.stack).toContain('Error: boom');
    expect(byMsg('plain')).toMatchObject({ requestId: 'r-1', method: 'POST', route: '/mcp', status: 200 });
    expect(byMsg('child')).toMatchObject({ component: 'child', token: '[redacted]' });
    expect(byMsg('grandchild')).toMatchObject({
      component: 'child',
      token: '[redacted]',
      password: '[redacted]',
    });
  });

  it('leaves the logged objects as they were', () => {
    // biome-ignore lint/suspicious/noExplicitAny: assertions on parsed JSON
    const after = JSON.parse(run.stderr) as Record<string, any>;
    expect(after.config.redisUrl).toBe('rediss://:pw-config@redis:6379');
    expect(after.request.headers.authorization).toBe('Bearer header-token');
    expect(after.deep.auth.apiKeys).toEqual(['api-key-deep']);
    expect(after.headers.authorization).toBe('Bearer error-token');
  });
});
