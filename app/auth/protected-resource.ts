import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/server';
import { type Request, Router } from 'express';
import type { AuthConfig } from '../config.js';

/** The MCP endpoint is the protected resource; clients use its URL as the RFC 8707 `resource`. */
/** Relative, so that a PUBLIC_URL with a path (`https://host/team-a`) gives `https://host/team-a/mcp`. */
const RESOURCE_PATH = 'mcp';

/** The public base URL: PUBLIC_URL, or what this request was addressed to (behind TRUST_PROXY). */
export function publicBaseUrl(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

export function resourceUrl(req: Request, publicUrl: string | undefined): URL {
  const base = publicBaseUrl(req, publicUrl);
  return new URL(RESOURCE_PATH, base.endsWith('/') ? base : `${base}/`);
}

/** Where the challenge in a 401 points: `…/.well-known/oauth-protected-resource/mcp` (RFC 9728 §3.1). */
export function resourceMetadataUrl(req: Request, publicUrl: string | undefined): string {
  return getOAuthProtectedResourceMetadataUrl(resourceUrl(req, publicUrl));
}

/**
 * Serves the RFC 9728 Protected Resource Metadata document, at the path-aware location and at
 * the root one (clients of the 2025-03-26 era probe the root). In `oauth` mode it names the
 * authorization server; in `apikey` mode there is none to name, and the document only says that
 * bearer credentials go in the Authorization header.
 */
export function protectedResourceRouter(auth: AuthConfig, publicUrl: string | undefined): Router {
  const router = Router();
  const scopes = [...new Set([...auth.requiredScopes, ...Object.values(auth.toolScopes).flat()])];
  const serve = (req: Request, res: import('express').Response) => {
    res.set('access-control-allow-origin', '*');
    res.json({
      resource: resourceUrl(req, publicUrl).href,
      ...(auth.oauth ? { authorization_servers: [auth.oauth.issuer] } : {}),
      bearer_methods_supported: ['header'],
      ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
      resource_name: 'mcp-fleet',
    });
  };
  router.get(
    ['/.well-known/oauth-protected-resource', `/.well-known/oauth-protected-resource/${RESOURCE_PATH}`],
    serve,
  );
  return router;
}
