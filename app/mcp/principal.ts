import type { AuthInfo } from '@modelcontextprotocol/server';

/** The caller a request acts for. Unauthenticated callers (AUTH_MODE=none) share one principal. */
export const ANONYMOUS_PRINCIPAL = 'anonymous';

export function principalOf(authInfo: AuthInfo | undefined): string {
  return authInfo?.clientId || ANONYMOUS_PRINCIPAL;
}
