import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Redis } from 'ioredis';

/** What a JSON-RPC POST to /mcp needs besides its body: the headers every real client sends. */
export const MCP_POST_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/** The principal the node derives from an API key (app/auth/api-keys.ts), computed independently. */
export function apiKeyPrincipalOf(key: string): string {
  return `key:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** How a session id appears in the node's logs (app/log-privacy.ts), computed independently. */
export function sessionIdInLogs(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex').slice(0, 16);
}

export function sha256Entry(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * Every key under `prefix` with its type, value and TTL presence, to compare Redis before and
 * after requests that must change nothing. Keys matching `ignore` are left out.
 */
export async function snapshotRedis(
  redis: Redis,
  prefix: string,
  ignore?: RegExp,
): Promise<Record<string, unknown>> {
  const snapshot: Record<string, unknown> = {};
  const keys = (await redis.keys(`${prefix}*`)).filter((key) => !ignore?.test(key)).sort();
  for (const key of keys) {
    const type = await redis.type(key);
    const value =
      type === 'hash'
        ? await redis.hgetall(key)
        : type === 'string'
          ? await redis.get(key)
          : type === 'stream'
            ? await redis.xrange(key, '-', '+')
            : type === 'set'
              ? (await redis.smembers(key)).sort()
              : type === 'zset'
                ? await redis.call('ZRANGE', key, '0', '-1', 'WITHSCORES')
                : type === 'list'
                  ? await redis.lrange(key, 0, -1)
                  : type;
    snapshot[key] = { type, value, expires: (await redis.pttl(key)) > 0 };
  }
  return snapshot;
}

/**
 * One HTTP request with full control of the headers (fetch forbids setting Host, and normalises
 * others), answering status, headers and body text. Header values may be hostile.
 */
export function rawRequest(
  base: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; body: string }> {
  const url = new URL(options.path ?? '/mcp', base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: options.method ?? 'POST',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/**
 * A slowloris body: headers promise `declaredLength` bytes, then a few arrive and the rest never
 * do. Resolves with the raw response text and how long until the server closed the socket.
 */
export function slowBody(
  base: string,
  declaredLength: number,
  headers: Record<string, string> = {},
): Promise<{ response: string; closedAfterMs: number }> {
  const url = new URL('/mcp', base);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
          `Accept: application/json, text/event-stream\r\nContent-Length: ${declaredLength}\r\n` +
          Object.entries(headers)
            .map(([name, value]) => `${name}: ${value}\r\n`)
            .join('') +
          '\r\n{"jsonrpc":',
      );
    });
    let response = '';
    socket.on('data', (chunk) => {
      response += chunk.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ response, closedAfterMs: Date.now() - started }));
  });
}
