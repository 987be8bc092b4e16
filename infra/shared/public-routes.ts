import type { PublicServer } from '../config/server.js';

/**
 * What the internet may ask a public server for, and nothing else. The app answers `/health`,
 * `/ready`, `/live` and `/metrics` to anyone who reaches it: load-balancer health checks and kubelet
 * probes address the targets directly, so the edge routes only what MCP clients need, and every other
 * path gets the edge's own 404. Both platforms read this one list (ALB listener rules, Ingress paths).
 */

export interface PublicPath {
  /** The path the server itself sees (after the load balancer strips `ingress.path`). */
  path: string;
  /** `exact`: this path only; `prefix`: everything below it (`/servers/…`). */
  match: 'exact' | 'prefix';
}

/**
 * The app: the 2025/2026 endpoint, the 2024 HTTP+SSE pair, the OAuth protected-resource metadata
 * (RFC 9728, under `/.well-known/`) and the gateway's upstreams.
 */
export const APP_PUBLIC_PATHS: readonly PublicPath[] = [
  { path: '/mcp', match: 'exact' },
  { path: '/sse', match: 'exact' },
  { path: '/messages', match: 'exact' },
  { path: '/.well-known', match: 'prefix' },
  { path: '/servers', match: 'prefix' },
];

/** Paths the app serves to operators and scrapers only; the edge refuses them as well as anything unlisted. */
export const OPERATIONS_PATHS = ['/health', '/ready', '/live', '/metrics'] as const;

/** A stateless third-party server: its MCP endpoint and its OAuth metadata, if it has any. */
export function publicPaths(server: PublicServer): readonly PublicPath[] {
  if (server.build === 'app') return APP_PUBLIC_PATHS;
  return [
    { path: server.mcpPath, match: 'exact' },
    { path: '/.well-known', match: 'prefix' },
  ];
}

/** `/team-a` + `/mcp`: the path clients send. */
export function publicPath(server: PublicServer, path: string): string {
  return server.ingress.path === '/' ? path : `${server.ingress.path}${path}`;
}
