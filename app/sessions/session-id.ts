import { randomBytes } from 'node:crypto';

/** 192 bits from the CSPRNG, base64url: 32 characters. */
export function newSessionId(): string {
  return randomBytes(24).toString('base64url');
}

/** Ids of any other shape are answered 404 without a store round trip. */
export function isWellFormedSessionId(id: string): boolean {
  return /^[A-Za-z0-9_-]{32}$/.test(id);
}
