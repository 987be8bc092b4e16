import { UPSTREAM_NAME } from './upstreams-config.js';

/** `/servers/<name>/<rest>?<query>`, split from the raw request target (never decoded first). */
export interface GatewayRoute {
  upstream: string;
  /** Starts with `/`; forwarded as it was sent. */
  rest: string;
  /** Without the `?`; empty when there is none. */
  query: string;
}

export type RouteProblem = { status: 404 | 400; message: string };

/**
 * Reads the route from the URL as the client sent it, relative to the `/servers` mount.
 *
 * Nothing is percent-decoded before it is checked, so `%2e%2e` or `%2f` cannot turn into a
 * different upstream name or climb out of an instance's base path: the name must be a plain DNS
 * label, and a rest path holding a dot segment (plain or encoded), an encoded slash or
 * backslash, a backslash or an empty segment is refused. The instance's origin is fixed by the
 * gateway, so a path can only ever reach the upstream it names.
 */
export function parseRoute(url: string): GatewayRoute | RouteProblem {
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const query = mark === -1 ? '' : url.slice(mark + 1);
  const slash = path.indexOf('/', 1);
  const upstream = slash === -1 ? path.slice(1) : path.slice(1, slash);
  if (!UPSTREAM_NAME.test(upstream)) {
    return { status: 404, message: 'Not found: no such upstream server' };
  }
  const rest = slash === -1 ? '' : path.slice(slash);
  if (rest === '' || rest === '/') {
    return {
      status: 404,
      message: `Not found: use /servers/${upstream}/<path>, e.g. /servers/${upstream}/mcp`,
    };
  }
  if (!isPlainPath(rest)) {
    return {
      status: 400,
      message: 'Bad request: the path holds a dot segment, an encoded slash or a backslash',
    };
  }
  return { upstream, rest, query };
}

function isPlainPath(rest: string): boolean {
  if (/\\|%2f|%5c|%00/i.test(rest) || hasControlOrSpace(rest)) return false;
  const segments = rest.slice(1).split('/');
  return segments.every((segment, i) => {
    if (segment === '') return i === segments.length - 1; // a trailing slash is fine, `//` is not
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return false;
    }
    return decoded !== '.' && decoded !== '..';
  });
}

function hasControlOrSpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}
