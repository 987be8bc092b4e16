import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import type { Agent } from 'undici';
import { JsonRpcCode, jsonRpcErrorBody } from '../errors.js';
import { sendEventStreamHeaders } from '../http/event-stream-headers.js';
import type { Logger } from '../logger.js';
import { principalOf } from '../mcp/principal.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { Instance, InstancePool } from './instances.js';
import type { GatewayMetrics } from './metrics.js';
import { PIN_TOKEN_PREFIX, type Pin, type PinBinding, type PinSealer } from './pin-token.js';
import { parseRoute } from './route.js';
import { SSE_SESSION_PARAMS, SseEndpointRewriter } from './sse-endpoint.js';

/** Instances a new session tries before the gateway answers 503: nothing was sent to the failed ones. */
const MAX_CONNECT_ATTEMPTS = 3;
/** Errors that mean the instance never got the request: refused, unreachable, or no connection within 2 s. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/**
 * A pooled keep-alive connection the upstream closed (or the process died) before any answer. The
 * request is sent once more on a fresh connection: if the instance is gone, that connect fails and
 * the pinned session gets its 404; if it was only an idle socket closed under us, the call goes through.
 */
const STALE_CONNECTION = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

interface PinnedRequest {
  pin: Pin;
  /** The client's token, sent back unchanged while the upstream keeps the same session id. */
  clientToken: string;
  /** The query with the token swapped for the upstream's session id (2024 transport). */
  query: string;
}

/** One stream held open for a client; the drain ends them all. */
export interface OpenStream {
  close(): void;
}

export interface ProxyDeps {
  pools: ReadonlyMap<string, InstancePool>;
  sealer: PinSealer;
  agent: Agent;
  metrics: GatewayMetrics;
  logger: Logger;
  streams: Set<OpenStream>;
}

/**
 * `/servers/<name>/<rest>`: the request goes to one instance of upstream `<name>`, at `<rest>`.
 * A request naming a pinned session (its `Mcp-Session-Id`, or the 2024 transport's `sessionId` /
 * `session_id` query) goes to the instance holding it, or gets 404 when that instance is gone;
 * anything else goes to the least-loaded instance, and a session id the upstream mints in the
 * answer is sealed into a pin (pin-token.ts).
 */
export function proxyHandler(deps: ProxyDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const route = parseRoute(req.url);
    if ('status' in route) {
      refuse(res, route.status, JsonRpcCode.InvalidRequest, route.message);
      return;
    }
    const pool = deps.pools.get(route.upstream);
    if (!pool) {
      refuse(res, 404, JsonRpcCode.InvalidRequest, 'Not found: no such upstream server');
      return;
    }
    const upstream = route.upstream;
    const log: Record<string, string> = { upstream };
    res.locals.log = log;
    res.once('close', () => deps.metrics.requests.inc({ upstream, status: String(res.statusCode) }));

    const binding: PinBinding = { upstream, principal: principalOf(req.auth) };
    const pinned = readPin(req, route.query, deps.sealer, binding);
    if (pinned === 'invalid') {
      // Forged, altered, another upstream's or another caller's: the answer for an unknown session.
      refuse(res, 404, JsonRpcCode.SessionNotFound, 'Session not found');
      return;
    }

    const controller = new AbortController();
    let clientGone = false;
    res.once('close', () => {
      clientGone = !res.writableFinished;
      if (clientGone) controller.abort();
    });
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    const query = pinned ? pinned.query : route.query;
    const tried = new Set<string>();
    let resent = false;

    for (;;) {
      const instance = pinned ? pool.get(pinned.pin.instance) : pool.pickLeastLoaded(tried);
      if (!instance) {
        if (pinned) sessionGone(res, deps.metrics, upstream);
        else noInstance(res, upstream);
        return;
      }
      log.instance = instance.url;
      const release = hold(instance);
      const sent = performance.now();
      try {
        const answer = await deps.agent.request({
          origin: instance.origin,
          path: `${instance.basePath}${route.rest}${query ? `?${query}` : ''}`,
          method: req.method as 'GET',
          headers: upstreamRequestHeaders(req.headers, {
            upstreamSessionId:
              pinned && req.headers['mcp-session-id'] ? pinned.pin.upstreamSessionId : undefined,
            secretHeaders: pool.upstream.secretHeaders,
            forwarded: {
              for: req.ip ?? '',
              host: req.get('host'),
              proto: req.protocol,
              prefix: `/servers/${upstream}`,
            },
            identityEncoding: req.method === 'GET',
          }),
          body,
          signal: controller.signal,
        });
        deps.metrics.latency.observe({ upstream }, (performance.now() - sent) / 1000);
        pool.markUp(instance);
        res.once('close', release);
        respond(deps, { req, res, answer, instance, pinned, binding, upstream });
        return;
      } catch (err) {
        release();
        if (clientGone) return;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (CONNECT_FAILURES.has(code)) {
          pool.markDown(instance);
          deps.logger.warn({ upstream, instance: instance.url, err: code }, 'upstream instance unreachable');
          if (pinned) {
            sessionGone(res, deps.metrics, upstream);
            return;
          }
          tried.add(instance.url);
          if (tried.size < MAX_CONNECT_ATTEMPTS) continue;
          noInstance(res, upstream);
          return;
        }
        if (STALE_CONNECTION.has(code) && !resent) {
          resent = true;
          continue;
        }
        deps.logger.warn(
          { upstream, instance: instance.url, err: (err as Error).message },
          'upstream request failed',
        );
        if (code === 'UND_ERR_HEADERS_TIMEOUT') {
          refuse(
            res,
            504,
            JsonRpcCode.InternalError,
            'Gateway timeout: the upstream server did not answer in time',
          );
        } else {
          refuse(res, 502, JsonRpcCode.InternalError, 'Bad gateway: the upstream server failed to answer');
        }
        return;
      }
    }
  };
}

function respond(
  deps: ProxyDeps,
  ctx: {
    req: Request;
    res: Response;
    answer: Awaited<ReturnType<Agent['request']>>;
    instance: Instance;
    pinned: PinnedRequest | undefined;
    binding: PinBinding;
    upstream: string;
  },
): void {
  const { req, res, answer, instance, pinned, upstream } = ctx;
  if (answer.statusCode === 401) {
    // The upstream refused the gateway's own credentials (headersFromEnv). Passing the 401 on
    // would send the client to the upstream's authorization server for a token: exactly the
    // confused-deputy path the MCP guidance closes. It is the operator's problem: 502.
    answer.body.destroy();
    deps.logger.error({ upstream, instance: instance.url }, 'upstream refused the gateway credentials (401)');
    refuse(
      res,
      502,
      JsonRpcCode.InternalError,
      'Bad gateway: the upstream server refused the gateway credentials',
      {
        reason: 'upstream_unauthorized',
      },
    );
    return;
  }
  const contentType = String(answer.headers['content-type'] ?? '');
  const isStream = contentType.startsWith('text/event-stream');
  // A new 2024 HTTP+SSE stream: its `endpoint` event must name the gateway and carry a pin.
  const rewrite = isStream && !pinned && req.method === 'GET' && answer.statusCode < 300;
  const headers = clientResponseHeaders(answer.headers, { keepContentLength: !rewrite });
  const upstreamSessionId = answer.headers['mcp-session-id'];
  if (typeof upstreamSessionId === 'string' && upstreamSessionId !== '') {
    const same =
      pinned && pinned.pin.instance === instance.url && pinned.pin.upstreamSessionId === upstreamSessionId;
    if (!same) deps.metrics.pins.inc({ upstream, transport: 'streamable-http' });
    headers['mcp-session-id'] = same
      ? pinned.clientToken
      : deps.sealer.seal({ instance: instance.url, upstreamSessionId }, ctx.binding);
  }
  res.writeHead(answer.statusCode, headers);
  let source: Readable = answer.body;
  if (rewrite) {
    const rewriter = new SseEndpointRewriter((data) => rewriteEndpoint(deps, data, instance, ctx.binding));
    answer.body.once('error', (err) => rewriter.destroy(err));
    source = answer.body.pipe(rewriter);
  }
  if (isStream) {
    // Event-stream headers go out now, not with the first event, which may be minutes away.
    sendUpstreamStreamHeaders(res);
    const stream: OpenStream = {
      close: () => {
        source.unpipe(res);
        answer.body.destroy();
        res.end();
      },
    };
    deps.streams.add(stream);
    deps.metrics.openStreams.inc({ upstream });
    res.once('close', () => {
      deps.streams.delete(stream);
      deps.metrics.openStreams.dec({ upstream });
    });
  }
  // The upstream dying mid-answer breaks the client's response too, so that it sees the failure
  // (and an event-stream client reconnects) instead of a truncated body that looks complete.
  source.once('error', () => res.destroy());
  res.once('close', () => answer.body.destroy());
  source.pipe(res);
}

/**
 * An upstream's event-stream headers, sent now but with the upstream's first chunk when it came
 * with them (its priming event: the id its client resumes from), which the pipe writes a tick after
 * the headers (app/http/event-stream-headers.ts).
 */
export function sendUpstreamStreamHeaders(res: ServerResponse): void {
  sendEventStreamHeaders(res, setImmediate);
}

/**
 * `/message?sessionId=abc` from instance X becomes `/servers/<name>/message?sessionId=<pin>`.
 * Relative and absolute forms are both read against the instance; an endpoint on another origin,
 * or outside the instance's base path, cannot be routed and ends the stream.
 */
function rewriteEndpoint(
  deps: ProxyDeps,
  data: string,
  instance: Instance,
  binding: PinBinding,
): string | undefined {
  let url: URL;
  try {
    url = new URL(data.trim(), `${instance.url}/`);
  } catch {
    return undefined;
  }
  if (url.origin !== instance.origin) return undefined;
  let path = url.pathname;
  if (instance.basePath) {
    if (!path.startsWith(`${instance.basePath}/`)) return undefined;
    path = path.slice(instance.basePath.length);
  }
  let pinned = false;
  for (const param of SSE_SESSION_PARAMS) {
    const upstreamSessionId = url.searchParams.get(param);
    if (!upstreamSessionId) continue;
    url.searchParams.set(param, deps.sealer.seal({ instance: instance.url, upstreamSessionId }, binding));
    pinned = true;
  }
  if (pinned) deps.metrics.pins.inc({ upstream: binding.upstream, transport: 'sse' });
  else
    deps.logger.warn(
      { upstream: binding.upstream, instance: instance.url },
      'sse endpoint carries no session id: not pinned',
    );
  return `/servers/${binding.upstream}${path}${url.search}`;
}

function readPin(
  req: Request,
  query: string,
  sealer: PinSealer,
  binding: PinBinding,
): PinnedRequest | 'invalid' | undefined {
  const header = req.headers['mcp-session-id'];
  if (typeof header === 'string' && header !== '') {
    const pin = sealer.open(header, binding);
    return pin ? { pin, clientToken: header, query } : 'invalid';
  }
  if (!query.includes(PIN_TOKEN_PREFIX)) return undefined;
  const params = new URLSearchParams(query);
  for (const param of SSE_SESSION_PARAMS) {
    const token = params.get(param);
    if (!token?.startsWith(PIN_TOKEN_PREFIX)) continue;
    const pin = sealer.open(token, binding);
    if (!pin) return 'invalid';
    params.set(param, pin.upstreamSessionId);
    return { pin, clientToken: token, query: params.toString() };
  }
  return undefined;
}

/** Counts a request (and later its stream) against the instance's load, exactly once. */
function hold(instance: Instance): () => void {
  instance.active++;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    instance.active--;
  };
}

function sessionGone(res: Response, metrics: GatewayMetrics, upstream: string): void {
  metrics.pinsLost.inc({ upstream });
  // The spec's signal to start a new session: 404 on a request that carries a session id.
  refuse(
    res,
    404,
    JsonRpcCode.SessionNotFound,
    'Session not found: the upstream instance holding it is gone',
    {
      reason: 'upstream_instance_gone',
    },
  );
}

function noInstance(res: Response, upstream: string): void {
  res.set('retry-after', '2');
  refuse(
    res,
    503,
    JsonRpcCode.InternalError,
    `Service unavailable: no instance of ${upstream} can take the request`,
    {
      reason: 'no_upstream_instance',
    },
  );
}

function refuse(res: Response, status: number, code: number, message: string, data?: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).json(jsonRpcErrorBody(code, message, { data }));
}
