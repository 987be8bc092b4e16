import {
  isJSONRPCRequest,
  isJSONRPCResponse,
  type JSONRPCMessage,
  type RequestId,
  type Transport,
} from '@modelcontextprotocol/server';

/**
 * In the 2025 era several nodes may hold a copy of one session, and each numbers its
 * server→client requests (elicitation, sampling) from 0. Prefixing those ids with the relay
 * address of the node that sent them (`<address>~<id>`) keeps them distinct, and tells any node
 * that receives the client's answer which node is waiting for it.
 *
 * Call after `server.connect(transport)`, which installs the handler this wraps.
 */
export function namespaceServerRequests(transport: Transport, address: string): void {
  const send = transport.send.bind(transport);
  transport.send = (message, options) =>
    send(
      isJSONRPCRequest(message) ? { ...message, id: `${address}~${String(message.id)}` } : message,
      options,
    );
  const onmessage = transport.onmessage;
  transport.onmessage = (message, extra) => onmessage?.(withOriginalId(message, address), extra);
}

/** The relay address a client's response is addressed to, if it answers a namespaced request. */
export function addresseeOf(message: JSONRPCMessage): string | undefined {
  if (!isJSONRPCResponse(message) || typeof message.id !== 'string') return undefined;
  const split = message.id.indexOf('~');
  return split > 0 ? message.id.slice(0, split) : undefined;
}

function withOriginalId(message: JSONRPCMessage, address: string): JSONRPCMessage {
  if (!isJSONRPCResponse(message) || addresseeOf(message) !== address) return message;
  const original = String(message.id).slice(address.length + 1);
  const id: RequestId = /^\d+$/.test(original) ? Number(original) : original;
  return { ...message, id };
}
