import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type AuthInfo,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import { apiKeyPrincipal } from '../mcp/principal.js';

/** An AUTH_API_KEYS entry that is a digest rather than the key itself. */
export const DIGEST_PREFIX = 'sha256:';

/** How long a verified API key's AuthInfo counts as valid: keys themselves never expire. */
const API_KEY_AUTH_SECONDS = 300;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * A key's fingerprint: the first 16 hex digits of its SHA-256, the same digest a `sha256:` entry
 * holds, so an operator can name the caller of a configured digest without the key. Every node
 * names the same caller the same way, and logs can say who called while the key never appears.
 * 64 bits: a collision between two configured keys is not a practical concern.
 */
export function apiKeyFingerprint(digest: Buffer): string {
  return digest.toString('hex').slice(0, 16);
}

function digestOf(entry: string): Buffer {
  return entry.startsWith(DIGEST_PREFIX)
    ? Buffer.from(entry.slice(DIGEST_PREFIX.length), 'hex')
    : sha256(entry);
}

/**
 * Verifies `Authorization: Bearer <key>` against AUTH_API_KEYS and AUTH_ADMIN_API_KEYS.
 *
 * An admin key is a key like any other whose AuthInfo also carries the admin scope
 * (OAUTH_ADMIN_SCOPE), so one check (app/auth/admin.ts) covers tokens and keys alike.
 *
 * Every entry is held as a SHA-256 digest (plaintext entries are hashed at start), and the
 * presented key is hashed too, so each comparison is `timingSafeEqual` over two 32-byte buffers:
 * no early exit on the first differing byte, and no length leak. All entries are compared on
 * every call, so the time taken does not reveal which entry (if any) matched.
 */
export class ApiKeyVerifier implements OAuthTokenVerifier {
  private readonly keys: { digest: Buffer; admin: boolean }[];
  private readonly adminScope: string;

  /** `admin.entries` authenticate like `entries` and also carry `admin.scope`. */
  constructor(entries: string[], admin: { entries: string[]; scope: string }) {
    if (entries.length === 0 && admin.entries.length === 0) throw new Error('AUTH_API_KEYS is empty');
    this.adminScope = admin.scope;
    this.keys = [
      ...admin.entries.map((entry) => ({ digest: digestOf(entry), admin: true })),
      ...entries.map((entry) => ({ digest: digestOf(entry), admin: false })),
    ];
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const presented = sha256(token);
    let matched: { digest: Buffer; admin: boolean } | undefined;
    // Admin entries come first, so a key listed in both lists is an admin.
    for (const key of this.keys) {
      if (timingSafeEqual(key.digest, presented) && matched === undefined) matched = key;
    }
    if (!matched) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid API key');
    return {
      token,
      clientId: apiKeyPrincipal(apiKeyFingerprint(matched.digest)),
      scopes: matched.admin ? [this.adminScope] : [],
      expiresAt: Math.floor(Date.now() / 1000) + API_KEY_AUTH_SECONDS,
    };
  }
}
