import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  OAuthError,
  type OAuthTokenVerifier,
  verifyBearerToken,
} from '@modelcontextprotocol/server';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthConfig } from '../config.js';
import { JsonRpcCode, jsonRpcErrorBody } from '../errors.js';
import type { Logger } from '../logger.js';
import { ApiKeyVerifier } from './api-keys.js';
import { AuthServerUnavailableError, JwtVerifier } from './jwt-verifier.js';
import { resourceMetadataUrl } from './protected-resource.js';

/** Builds the verifier AUTH_MODE asks for; `none` has none. */
export function createVerifier(auth: AuthConfig): OAuthTokenVerifier | undefined {
  if (auth.mode === 'apikey') {
    return new ApiKeyVerifier(auth.apiKeys, { entries: auth.adminApiKeys, scope: auth.adminScope });
  }
  if (auth.mode === 'oauth' && auth.oauth) {
    return new JwtVerifier({
      issuer: auth.oauth.issuer,
      audience: auth.oauth.audience,
      jwksUrl: auth.oauth.jwksUrl,
      refreshSeconds: auth.oauth.jwksRefreshSeconds,
    });
  }
  return undefined;
}

/**
 * The authentication gate, mounted before every MCP route (`/mcp`, `/sse`, `/messages`).
 *
 * A verified credential becomes `req.auth`, which the SDK's Node adapter forwards as `authInfo`
 * and tools read as `ctx.http.authInfo`; its `clientId` is the principal (app/mcp/principal.ts).
 * A missing or bad credential gets 401 with `WWW-Authenticate: Bearer …, resource_metadata="…"`
 * (RFC 9728), a token without a required scope 403, and an unreachable issuer 503. Each refusal
 * is one audit line; the credential itself is never logged.
 */
export function authenticate(deps: {
  auth: AuthConfig;
  publicUrl: string | undefined;
  logger: Logger;
  verifier?: OAuthTokenVerifier;
}): RequestHandler {
  const verifier = deps.verifier ?? createVerifier(deps.auth);
  if (!verifier) return (_req, _res, next) => next();
  const audit = deps.logger.child({ event: 'auth_failure' });
  const requiredScopes = deps.auth.requiredScopes;

  return async (req: Request, res: Response, next: NextFunction) => {
    const metadataUrl = resourceMetadataUrl(req, deps.publicUrl);
    let authInfo: AuthInfo;
    try {
      authInfo = await verifyBearerToken(req.headers.authorization, {
        verifier,
        requiredScopes,
        resourceMetadataUrl: metadataUrl,
      });
    } catch (err) {
      if (err instanceof AuthServerUnavailableError) {
        deps.logger.error({ event: 'auth_unavailable', err: err.message }, 'cannot verify tokens');
        res
          .status(503)
          .set('retry-after', '5')
          .json(
            rpcError('Service unavailable: the authorization server cannot be reached. Retry shortly.', {
              reason: 'auth_server_unavailable',
            }),
          );
        return;
      }
      const challenge = bearerAuthChallengeResponse(err, {
        requiredScopes,
        resourceMetadataUrl: metadataUrl,
      });
      const oauth = err instanceof OAuthError ? err.toResponseObject() : { error: 'server_error' };
      audit.warn(
        {
          status: challenge.status,
          reason: oauth.error,
          detail: err instanceof Error ? err.message : String(err),
          ip: req.ip,
          method: req.method,
          route: req.path,
          credential: req.headers.authorization ? 'presented' : 'missing',
        },
        'authentication failed',
      );
      const header = challenge.headers.get('www-authenticate');
      if (header) res.set('www-authenticate', header);
      const message =
        challenge.status === 403
          ? `Forbidden: the token lacks a required scope (${requiredScopes.join(' ')})`
          : `Unauthorized: ${err instanceof Error ? err.message : 'invalid credential'}. Send Authorization: Bearer <token>.`;
      res.status(challenge.status).json(rpcError(message, oauth));
      return;
    }
    req.auth = authInfo;
    next();
  };
}

function rpcError(message: string, data: unknown) {
  return jsonRpcErrorBody(JsonRpcCode.ServerError, message, { data });
}
