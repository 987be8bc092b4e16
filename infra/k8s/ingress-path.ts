import type { ServerConfig } from '../config.js';
import type { IngressController } from './sse.js';

export interface IngressPath {
  path: string;
  pathType: 'Prefix' | 'ImplementationSpecific';
  /** The controller's rewrite annotations; empty for `/`. */
  annotations: Record<string, string>;
}

/**
 * The Ingress path of a server and the rewrite that strips it, in each controller's dialect, so a
 * server mounted at `/team-a` still sees `/mcp` (without it, `/team-a/mcp` reaches an app that
 * routes only `/mcp`: 404).
 * - F5 NGINX: `nginx.org/rewrites` on a path ending in `/` ("Rewrites support", F5 NGINX Ingress
 *   Controller docs: `/tea/abc` → `/abc`; nginx redirects `/tea` to `/tea/`).
 * - ingress-nginx: a regex path with `rewrite-target: /$2` ("Rewrite", ingress-nginx docs); regex
 *   paths must be ImplementationSpecific.
 */
export function ingressPath(
  controller: IngressController,
  server: ServerConfig,
  service: string,
): IngressPath {
  const { path } = server.ingress;
  if (path === '/') return { path, pathType: 'Prefix', annotations: {} };
  if (controller === 'f5-nginx') {
    return {
      path: `${path}/`,
      pathType: 'Prefix',
      annotations: { 'nginx.org/rewrites': `serviceName=${service} rewrite=/` },
    };
  }
  return {
    path: `${path}(/|$)(.*)`,
    pathType: 'ImplementationSpecific',
    annotations: {
      'nginx.ingress.kubernetes.io/use-regex': 'true',
      'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
    },
  };
}
