import type { AuthInfo } from '@modelcontextprotocol/server';
import type { AuthConfig } from '../config.js';

/** Who may run fleet-wide operations (today: `notify_change`, which reaches every client). */
export interface AdminGate {
  allows(authInfo: AuthInfo | undefined): boolean;
  /** What a refused caller needs, for the refusal's message. */
  readonly requirement: string;
}

/**
 * An administrator is a caller whose credential carries OAUTH_ADMIN_SCOPE: an OAuth token granted
 * that scope, or an API key listed in AUTH_ADMIN_API_KEYS (app/auth/api-keys.ts gives those the
 * scope). With AUTH_MODE=none there is nobody to tell apart, so everything stays open, for
 * development.
 *
 * Admin keys are a separate variable rather than a per-key suffix in AUTH_API_KEYS: a plaintext
 * key may itself contain `:` or `=`, so a suffix would make existing entries ambiguous, and a
 * separate secret can be held and rotated by fewer people.
 */
export function createAdminGate(auth: Pick<AuthConfig, 'mode' | 'adminScope'>): AdminGate {
  if (auth.mode === 'none') return { allows: () => true, requirement: 'nothing (AUTH_MODE=none)' };
  const requirement =
    auth.mode === 'oauth'
      ? `an access token granted the scope "${auth.adminScope}" (OAUTH_ADMIN_SCOPE)`
      : 'an API key listed in AUTH_ADMIN_API_KEYS';
  return {
    allows: (authInfo) => authInfo?.scopes.includes(auth.adminScope) === true,
    requirement,
  };
}
