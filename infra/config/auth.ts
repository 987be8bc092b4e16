import { z } from 'zod';

/**
 * How a server authenticates callers: the `auth` key of a server, which writes the app's AUTH_* and
 * OAUTH_* variables. One place says it; `env` and `secrets` may not.
 */

/** Variables written from `auth`: one place says how a server authenticates its callers. */
export const AUTH_ENV = [
  'AUTH_MODE',
  'AUTH_API_KEYS',
  'AUTH_ADMIN_API_KEYS',
  'OAUTH_ISSUER',
  'OAUTH_AUDIENCE',
  'OAUTH_JWKS_URL',
  'OAUTH_ADMIN_SCOPE',
] as const;
/** The secrets `auth` delivers, each generated unless `serverSecrets.<name>.<NAME>` sets it. */
export const AUTH_SECRETS = ['AUTH_API_KEYS', 'AUTH_ADMIN_API_KEYS'] as const;
/** Which `auth` setting delivers each secret of AUTH_ENV. */
export const AUTH_SOURCE: Record<string, string> = {
  AUTH_API_KEYS: 'auth.mode apikey',
  AUTH_ADMIN_API_KEYS: 'auth.adminKeys',
};
/** One OAuth scope token (RFC 6749 §3.3 scope-token), the form the app's OAUTH_ADMIN_SCOPE takes. */
const OAUTH_SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const httpsUrl = (what: string) =>
  z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/, `expected ${what}, an https:// URL`);

/**
 * How the server authenticates callers: the app's AUTH_MODE and OAuth settings. `apikey` keys are a
 * secret (`serverSecrets.<name>.AUTH_API_KEYS`); the OAuth settings are public facts about the issuer.
 */
export const authSchema = z
  .strictObject({
    mode: z.enum(['none', 'apikey', 'oauth'], 'expected "none", "apikey" or "oauth"'),
    /** oauth: the authorization server's issuer (the JWT `iss`). */
    issuer: httpsUrl('the authorization server issuer').optional(),
    /** oauth: the audience tokens must be issued for (the JWT `aud`). */
    audience: z.string().min(1, 'expected the audience tokens are issued for').optional(),
    /** oauth: the issuer's JWKS; unset means discovered from the issuer's metadata. */
    jwksUrl: httpsUrl('the issuer JWKS').optional(),
    /**
     * oauth: the scope that makes a token an administrator, allowed to call `notify_change` (the app's
     * OAUTH_ADMIN_SCOPE; unset: the app's default, `mcp:admin`).
     */
    adminScope: z
      .string()
      .regex(OAUTH_SCOPE, 'expected one OAuth scope (visible characters, no spaces)')
      .optional(),
    /**
     * apikey: also deliver administrator keys (AUTH_ADMIN_API_KEYS), which may call `notify_change`;
     * generated unless `serverSecrets.<name>.AUTH_ADMIN_API_KEYS` sets them. Unset: no key is an administrator.
     */
    adminKeys: z.boolean().optional(),
  })
  .superRefine((auth, ctx) => {
    if (auth.mode === 'oauth') {
      if (!auth.issuer) {
        ctx.addIssue({
          code: 'custom',
          path: ['issuer'],
          message: 'required when auth.mode is oauth: the authorization server issuer, an https:// URL',
        });
      }
      if (!auth.audience) {
        ctx.addIssue({
          code: 'custom',
          path: ['audience'],
          message: 'required when auth.mode is oauth: the audience your tokens are issued for',
        });
      }
    }
    for (const key of ['issuer', 'audience', 'jwksUrl', 'adminScope'] as const) {
      if (auth.mode !== 'oauth' && auth[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `only used when auth.mode is oauth; remove it`,
        });
      }
    }
    if (auth.mode !== 'apikey' && auth.adminKeys !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['adminKeys'],
        message:
          'only used when auth.mode is apikey (with oauth, administrators carry auth.adminScope); remove it',
      });
    }
  });

/** The in-repo app authenticates by default: an open MCP endpoint is an explicit choice (`mode: none`). */
export const DEFAULT_APP_AUTH: z.output<typeof authSchema> = { mode: 'apikey' };

export type AuthConfig = z.output<typeof authSchema>;

/**
 * The secrets `auth` gives a server, each generated unless `serverSecrets` sets it: the API keys of
 * `apikey` auth, and its administrator keys when `auth.adminKeys` asks for them.
 */
export function authSecretNames(server: { auth?: AuthConfig }): string[] {
  if (server.auth?.mode !== 'apikey') return [];
  return server.auth.adminKeys ? ['AUTH_API_KEYS', 'AUTH_ADMIN_API_KEYS'] : ['AUTH_API_KEYS'];
}
