import type { PublicServer } from '../config.js';
import { publicPath, publicPaths } from '../shared/public-routes.js';
import type { IngressController } from './sse.js';

export interface IngressRoute {
  path: string;
  pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific';
}

export interface IngressRoutes {
  paths: IngressRoute[];
  /** The controller's rewrite annotations; empty for `/`. */
  annotations: Record<string, string>;
}

/** `.` and the other regex metacharacters a path may hold (paths hold only unreserved URL characters). */
function escapeRegex(text: string): string {
  return text.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&');
}

/**
 * The Ingress paths of a server: only what its clients need (infra/shared/public-routes.ts), each
 * `Exact` or `Prefix` ("Path types", Kubernetes Ingress docs; F5 NGINX renders Exact as
 * `location = …`). Everything else on the host, `/health` and `/metrics` included, matches no
 * location and gets nginx's 404.
 *
 * Under a path prefix (`/team-a`) the server must still see `/mcp`:
 * - ingress-nginx: one regex path per public path with `rewrite-target: /$1` ("Rewrite",
 *   ingress-nginx docs); regex paths must be ImplementationSpecific;
 * - F5 NGINX: refused by the stack config check. Its rewrites are one per Service
 *   (`nginx.org/rewrites`), so they cannot strip a prefix from several paths, and every server has a
 *   host of its own there anyway.
 */
export function ingressRoutes(controller: IngressController, server: PublicServer): IngressRoutes {
  const { path: prefix } = server.ingress;
  const entries = publicPaths(server);
  if (prefix === '/') {
    return {
      paths: entries.map((entry) => ({
        path: entry.path,
        pathType: entry.match === 'exact' ? 'Exact' : 'Prefix',
      })),
      annotations: {},
    };
  }
  if (controller === 'f5-nginx') {
    throw new Error(`ingress.path ${prefix} on F5 NGINX; the stack config check refuses it`);
  }
  return {
    paths: entries.map((entry) => {
      const target = escapeRegex(entry.path.slice(1));
      const rest = entry.match === 'exact' ? `(${target})$` : `(${target}/.*)`;
      return { path: `${escapeRegex(publicPath(server, ''))}/${rest}`, pathType: 'ImplementationSpecific' };
    }),
    annotations: {
      'nginx.ingress.kubernetes.io/use-regex': 'true',
      'nginx.ingress.kubernetes.io/rewrite-target': '/$1',
    },
  };
}
