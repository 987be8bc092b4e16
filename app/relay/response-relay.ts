import { isJSONRPCResponse, type JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';
import type { NodeRelay } from './node-relay.js';
import { addresseeOf } from './request-id-namespace.js';

/**
 * A 2025-era client answers an elicitation or sampling request with a POST that the load balancer
 * may send to any node. When every message of the body answers a request another node sent,
 * hand them to that node and answer 202 here; otherwise return undefined and serve it locally.
 * Without this, the tool call that asked waits forever.
 */
export async function relayForeignResponses(
  body: unknown,
  sessionId: string,
  relay: NodeRelay,
  logger: Logger,
): Promise<Response | undefined> {
  const messages = (Array.isArray(body) ? body : [body]) as JSONRPCMessage[];
  if (messages.length === 0 || !messages.every((m) => isJSONRPCResponse(m))) return undefined;
  const byAddress = new Map<string, JSONRPCMessage[]>();
  for (const message of messages) {
    const address = addresseeOf(message);
    if (address === undefined || address === relay.address) return undefined;
    byAddress.set(address, [...(byAddress.get(address) ?? []), message]);
  }
  for (const [address, addressed] of byAddress) {
    const outcome = await relay.send(address, { kind: 'session-responses', sessionId, messages: addressed });
    if (outcome !== 'delivered') {
      // The node that asked died or dropped the session: its tool call is gone, and so is the
      // use of this answer. The client is told 202, as the SDK's transport does for answers
      // to requests it no longer knows.
      logger.warn(
        { sessionId, address, outcome },
        'a client answered a server request nobody waits for any more',
      );
    }
  }
  return new Response(null, { status: 202 });
}
