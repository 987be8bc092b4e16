import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The client-facing session id of a pinned upstream session: the upstream's own session id and
 * the instance holding it, sealed with AES-256-GCM under a key every gateway node derives from
 * MCP_STATE_KEY. Any node opens it and routes the request with no lookup at all: no Redis round
 * trip, no pin record to replicate, nothing lost when a gateway node restarts.
 *
 * The authenticated data binds a token to its upstream and to the principal that opened the
 * session, so a token is worthless on another upstream's path or in another caller's hands
 * (both open as "no such session": 404, as the app answers a foreign 2025-era session id).
 * Encrypted rather than only signed, so that instance addresses and upstream session ids are
 * not shown to clients.
 *
 * Format: `gw1.` + base64url(iv[12] ‖ ciphertext ‖ tag[16]); visible ASCII, as `Mcp-Session-Id`
 * must be, and URL-safe, for the `sessionId` query of the 2024 transport.
 */
export const PIN_TOKEN_PREFIX = 'gw1.';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Larger than any real token (an instance URL and an upstream session id), small enough to decrypt blindly. */
const MAX_TOKEN_CHARS = 2048;

export interface Pin {
  /** The instance's base URL, exactly as the instance list names it. */
  instance: string;
  /** The session id the upstream minted. */
  upstreamSessionId: string;
}

export interface PinSealer {
  seal(pin: Pin, binding: PinBinding): string;
  /** The pin, or undefined for anything forged, altered, bound to someone else, or sealed with an unknown key. */
  open(token: string, binding: PinBinding): Pin | undefined;
}

export interface PinBinding {
  upstream: string;
  principal: string;
}

/**
 * `stateKey` seals; `previousStateKey` (MCP_STATE_KEY_PREVIOUS) still opens, so sessions survive
 * a key rotation as 2026 request state does.
 */
export function createPinSealer(stateKey: string, previousStateKey?: string): PinSealer {
  const current = deriveKey(stateKey);
  const keys = previousStateKey ? [current, deriveKey(previousStateKey)] : [current];
  return {
    seal(pin, binding) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(aad(binding));
      const sealed = Buffer.concat([
        iv,
        cipher.update(`${pin.instance}\n${pin.upstreamSessionId}`, 'utf8'),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return PIN_TOKEN_PREFIX + sealed.toString('base64url');
    },
    open(token, binding) {
      if (!token.startsWith(PIN_TOKEN_PREFIX) || token.length > MAX_TOKEN_CHARS) return undefined;
      const sealed = Buffer.from(token.slice(PIN_TOKEN_PREFIX.length), 'base64url');
      if (sealed.length <= IV_BYTES + TAG_BYTES) return undefined;
      const iv = sealed.subarray(0, IV_BYTES);
      const ciphertext = sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES);
      const tag = sealed.subarray(sealed.length - TAG_BYTES);
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, iv);
          decipher.setAAD(aad(binding));
          decipher.setAuthTag(tag);
          const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
          const split = plain.indexOf('\n');
          if (split <= 0) return undefined;
          return { instance: plain.slice(0, split), upstreamSessionId: plain.slice(split + 1) };
        } catch {
          // Not this key (or not ours at all): try the next one.
        }
      }
      return undefined;
    },
  };
}

/** A key of its own, so that the gateway never uses MCP_STATE_KEY's bytes for two purposes. */
function deriveKey(stateKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', stateKey, '', 'mcp-fleet gateway pin v1', 32));
}

function aad(binding: PinBinding): Buffer {
  return Buffer.from(`${binding.upstream}\n${binding.principal}`, 'utf8');
}
