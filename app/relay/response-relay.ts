import { isJSONRPCResponse, type JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';
import type { NodeRelay } from './node-relay.js';
import { addresseeOf } from './request-id-namespace.js';

/**
 * A 2025-era client answers an elicitation or sampling request with a POST that the load balancer
 * may send to any node. The answers to requests another node sent are handed to that node; the
 * rest of the body is served here. Without this, the tool call that asked waits forever.
 *
 * Returns `{ answered }` when nothing is left to serve here (202), `{ local }` with what is left
 * (the whole body when nothing was foreign).
 */
export async function relayForeignResponses(
  body: unknown,
  sessionId: string,
  relay: NodeRelay,
  logger: Logger,
): Promise<{ answered: Response } | { local: unknown }> {
  const messages = (Array.isArray(body) ? body : [body]) as JSONRPCMessage[];
  const byAddress = new Map<string, JSONRPCMessage[]>();
  const local: JSONRPCMessage[] = [];
  for (const message of messages) {
    const address = isJSONRPCResponse(message) ? addresseeOf(message) : undefined;
    if (address === undefined || address === relay.address) local.push(message);
    else byAddress.set(address, [...(byAddress.get(address) ?? []), message]);
  }
  if (byAddress.size === 0) return { local: body };
  for (const [address, addressed] of byAddress) {
    const outcome = await relay.send(address, {
      kind: 'session-responses',
      sessionId,
      messages: addressed,
    });
    if (outcome === 'unreachable' || outcome === 'not-held') {
      // The node that asked died or dropped the session: its tool call is gone, and so is the
      // use of this answer. The client is told 202, as the SDK's transport does for answers
      // to requests it no longer knows. (A `timeout` is a live node slow to confirm: the answer
      // waits in its inbox, and it takes it.)
      logger.warn(
        { sessionId, address, outcome },
        'a client answered a server request nobody waits for any more',
      );
    }
  }
  if (local.length === 0) return { answered: new Response(null, { status: 202 }) };
  // A batch mixing answers for other nodes with messages for this one: the rest is served here.
  return { local: Array.isArray(body) ? local : local[0] };
}
