import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type AuthInfo,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';

/** An AUTH_API_KEYS entry that is a digest rather than the key itself. */
export const DIGEST_PREFIX = 'sha256:';

/** How long a verified API key's AuthInfo counts as valid: keys themselves never expire. */
const API_KEY_AUTH_SECONDS = 300;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The principal an API key acts as: a short fingerprint of its digest, so that every node names
 * the same caller the same way, logs can say who called, and the key itself never appears.
 */
export function apiKeyPrincipal(digest: Buffer): string {
  return `key-${digest.toString('hex').slice(0, 16)}`;
}

/**
 * Verifies `Authorization: Bearer <key>` against AUTH_API_KEYS.
 *
 * Every entry is held as a SHA-256 digest (plaintext entries are hashed at start), and the
 * presented key is hashed too, so each comparison is `timingSafeEqual` over two 32-byte buffers:
 * no early exit on the first differing byte, and no length leak. All entries are compared on
 * every call, so the time taken does not reveal which entry (if any) matched.
 */
export class ApiKeyVerifier implements OAuthTokenVerifier {
  private readonly digests: Buffer[];

  constructor(entries: string[]) {
    if (entries.length === 0) throw new Error('AUTH_API_KEYS is empty');
    this.digests = entries.map((entry) =>
      entry.startsWith(DIGEST_PREFIX) ? Buffer.from(entry.slice(DIGEST_PREFIX.length), 'hex') : sha256(entry),
    );
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const presented = sha256(token);
    let matched: Buffer | undefined;
    for (const digest of this.digests) {
      if (timingSafeEqual(digest, presented) && matched === undefined) matched = digest;
    }
    if (!matched) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid API key');
    return {
      token,
      clientId: apiKeyPrincipal(matched),
      scopes: [],
      expiresAt: Math.floor(Date.now() / 1000) + API_KEY_AUTH_SECONDS,
    };
  }
}
