import {
  createRequestStateCodec,
  type RequestStateCodec,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';
import { principalOf } from './principal.js';

/**
 * Seals and verifies 2026 multi-round-trip `requestState` with MCP_STATE_KEY, which every node
 * shares, so a retry can land on any node. State is bound to the principal, so one caller's
 * state cannot be replayed by another.
 *
 * Rotation: state sealed with MCP_STATE_KEY_PREVIOUS still verifies, so flows in progress survive
 * a key change. The SDK codec has no key id, hence new key first, then the previous one on a MAC
 * mismatch. It is signed, not encrypted: tools must not put secrets in the state.
 */
export function createRequestStateSealer(options: {
  key: string;
  previousKey?: string;
  logger: Logger;
}): RequestStateCodec {
  const bind = (ctx: ServerContext) => principalOf(ctx.http?.authInfo);
  const current = createRequestStateCodec({ key: options.key, bind });
  const previous = options.previousKey
    ? createRequestStateCodec({ key: options.previousKey, bind })
    : undefined;

  const verify = async (state: string, ctx: ServerContext) => {
    try {
      return await current.verify(state, ctx);
    } catch (err) {
      const reason = (err as Error).message;
      if (reason === 'mac' && previous) {
        try {
          return await previous.verify(state, ctx);
        } catch {
          // Fall through: report the current key's reason.
        }
      }
      // The client only sees "Invalid or expired requestState"; the operator gets the reason here.
      options.logger.warn(
        { reason, principal: principalOf(ctx.http?.authInfo) },
        reason === 'mac'
          ? 'multi-round-trip requestState was sealed with another key: every node must share one MCP_STATE_KEY'
          : 'multi-round-trip requestState refused',
      );
      throw err;
    }
  };
  return { mint: (payload, ctx) => current.mint(payload, ctx), verify };
}
