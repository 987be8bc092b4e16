import {
  type AuthInfo,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { oauthPrincipal } from '../mcp/principal.js';

/** Only asymmetric algorithms: a resource server never holds the issuer's signing secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * The longest subject accepted. OpenID Connect caps `sub` at 255 ASCII characters; plain OAuth
 * servers set no cap, so this is looser, and only bounds what a principal costs in keys and logs.
 */
const MAX_SUBJECT_LENGTH = 1024;

/** The issuer (or its JWKS) could not be reached: not the caller's fault, answered 503. */
export class AuthServerUnavailableError extends Error {
  readonly code = 'AUTH_SERVER_UNAVAILABLE';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'AuthServerUnavailableError';
  }
}

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** Unset: read `jwks_uri` from the issuer's metadata (RFC 8414, then OpenID Connect discovery). */
  jwksUrl: string | undefined;
  /** Minimum seconds between JWKS refetches triggered by an unknown key id (a rotation). */
  refreshSeconds: number;
}

/**
 * Verifies OAuth 2.1 access tokens that are JWTs, as a resource server: signature against the
 * issuer's JWKS, then `iss`, `aud`, `exp` and `nbf`.
 *
 * The JWKS comes from jose's `createRemoteJWKSet`: cached, refetched after `cacheMaxAge`, and
 * refetched at once (at most every `refreshSeconds`) when a token names a key id it has not seen,
 * which is how a key rotation at the issuer reaches every node without a restart.
 */
export class JwtVerifier implements OAuthTokenVerifier {
  private jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly options: JwtVerifierOptions) {}

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const jwks = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw classify(err);
    }
    return {
      token,
      // The principal that sessions, memory, rate limits and quotas are bound to: the token's
      // subject, namespaced by its issuer (jwtVerify has checked `iss` equals ours).
      clientId: oauthPrincipal(this.options.issuer, subjectOf(payload)),
      scopes: scopesOf(payload),
      expiresAt: payload.exp,
    };
  }

  private keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.jwks ??= this.jwksUrl()
      .then((url) =>
        createRemoteJWKSet(new URL(url), {
          cooldownDuration: this.options.refreshSeconds * 1000,
          cacheMaxAge: 10 * 60_000,
          timeoutDuration: 5_000,
        }),
      )
      .catch((err: unknown) => {
        this.jwks = undefined; // try discovery again on the next request
        throw err;
      });
    return this.jwks;
  }

  private async jwksUrl(): Promise<string> {
    if (this.options.jwksUrl) return this.options.jwksUrl;
    const issuer = new URL(this.options.issuer);
    const path = issuer.pathname.replace(/\/$/, '');
    const candidates = [
      `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
      `${issuer.origin}${path}/.well-known/openid-configuration`,
    ];
    for (const candidate of candidates) {
      try {
        const response = await fetch(candidate, { signal: AbortSignal.timeout(5_000) });
        if (!response.ok) continue;
        const metadata = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
        if (typeof metadata.jwks_uri === 'string') return metadata.jwks_uri;
      } catch {
        // try the next well-known location; the error below names them all
      }
    }
    throw new AuthServerUnavailableError(
      `could not discover the JWKS of ${this.options.issuer} (tried ${candidates.join(', ')}); set OAUTH_JWKS_URL`,
    );
  }
}

/**
 * jose checks only that `sub` is present. A token whose subject is empty, or not a string at
 * all, names nobody: it is refused (401), never mapped to a shared or made-up principal.
 */
function subjectOf(payload: JWTPayload): string {
  const sub: unknown = payload.sub;
  if (typeof sub !== 'string' || sub.trim() === '') {
    throw new OAuthError(OAuthErrorCode.InvalidToken, 'Token claim "sub" must be a non-empty string');
  }
  if (sub.length > MAX_SUBJECT_LENGTH) {
    throw new OAuthError(
      OAuthErrorCode.InvalidToken,
      `Token claim "sub" is longer than ${MAX_SUBJECT_LENGTH} characters`,
    );
  }
  return sub;
}

function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return raw.split(' ').filter((scope) => scope !== '');
  if (Array.isArray(raw)) return raw.filter((scope): scope is string => typeof scope === 'string');
  return [];
}

/** Bad tokens are the caller's problem (401); an unreachable issuer is ours (503). */
function classify(err: unknown): Error {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new AuthServerUnavailableError(`the issuer's JWKS could not be read: ${err.message}`, err);
  }
  if (err instanceof errors.JOSEError) {
    return new OAuthError(OAuthErrorCode.InvalidToken, tokenProblem(err));
  }
  if (err instanceof AuthServerUnavailableError) return err;
  // fetch() failures (connection refused, DNS) while loading the JWKS.
  return new AuthServerUnavailableError(
    `the issuer's JWKS could not be fetched: ${(err as Error).message}`,
    err,
  );
}

function tokenProblem(err: InstanceType<typeof errors.JOSEError>): string {
  if (err instanceof errors.JWTExpired) return 'Token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `Token claim "${err.claim}" is not valid here`;
  if (err instanceof errors.JWKSNoMatchingKey)
    return 'Token is signed with a key the issuer does not publish';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'Token signature is not valid';
  return 'Token is malformed or uses an algorithm that is not allowed';
}
