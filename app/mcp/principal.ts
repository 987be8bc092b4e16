import type { AuthInfo } from '@modelcontextprotocol/server';

/**
 * Who a request acts for: the name sessions, stored values, rate limits and quotas are bound to.
 * Each kind of credential has its own namespace, so no two kinds can ever name the same caller:
 * - `oauth:<issuer>#<subject>`: an OAuth access token (app/auth/jwt-verifier.ts);
 * - `key:<fingerprint>`: an API key, by the first 16 hex digits of its SHA-256 (app/auth/api-keys.ts);
 * - `anonymous`: every caller when AUTH_MODE=none, and only then.
 */
export const ANONYMOUS_PRINCIPAL = 'anonymous';

export function oauthPrincipal(issuer: string, subject: string): string {
  return `oauth:${issuer}#${subject}`;
}

export function apiKeyPrincipal(fingerprint: string): string {
  return `key:${fingerprint}`;
}

/**
 * The principal of a request. Without authInfo the caller is anonymous (AUTH_MODE=none); an
 * authenticated request always has a principal, since the verifiers refuse a credential that names
 * none. An empty one here would be a bug, and must never fall back to `anonymous`: that would merge
 * the caller with every unauthenticated one.
 */
export function principalOf(authInfo: AuthInfo | undefined): string {
  if (authInfo === undefined) return ANONYMOUS_PRINCIPAL;
  if (typeof authInfo.clientId !== 'string' || authInfo.clientId === '') {
    throw new Error('an authenticated request carries no principal');
  }
  return authInfo.clientId;
}
