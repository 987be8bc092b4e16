import type { JSONRPCMessage } from '@modelcontextprotocol/server';

/**
 * Node-to-node delivery of client messages that reached the wrong node: a 2024-11-05 POST whose
 * SSE stream another node holds, or a 2025-era response to a server→client request (elicitation,
 * sampling) that another node is waiting for.
 */
export type RelayEnvelope =
  | { kind: 'sse-messages'; sessionId: string; messages: JSONRPCMessage[] }
  | { kind: 'session-responses'; sessionId: string; messages: JSONRPCMessage[] };

/**
 * - `delivered`: the target node handed the messages to the session it holds;
 * - `not-held`: the target node is alive but no longer holds that session's stream or request;
 * - `unreachable`: no live node listens at that address (it died, or never existed);
 * - `timeout`: the target node received it but did not confirm in time (overloaded or stuck).
 */
export type RelayOutcome = 'delivered' | 'not-held' | 'unreachable' | 'timeout';

export type RelayHandler = (envelope: RelayEnvelope) => Promise<'delivered' | 'not-held'>;

export interface NodeRelay {
  /** This process's address: unique per process, so a restarted node never receives a predecessor's mail. */
  readonly address: string;
  /** Delivers to the node at `address` and waits for its confirmation. */
  send(address: string, envelope: RelayEnvelope): Promise<RelayOutcome>;
  /** Whether a live node process listens at `address` (the node registry). */
  isAlive(address: string): Promise<boolean>;
  /** One handler per envelope kind, registered by whoever owns that kind of session. */
  onEnvelope(kind: RelayEnvelope['kind'], handler: RelayHandler): void;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Dispatches an envelope to its registered handler; shared by the Redis and in-memory relays. */
export class RelayHandlers {
  private readonly handlers = new Map<RelayEnvelope['kind'], RelayHandler>();

  register(kind: RelayEnvelope['kind'], handler: RelayHandler): void {
    this.handlers.set(kind, handler);
  }

  async dispatch(envelope: RelayEnvelope): Promise<'delivered' | 'not-held'> {
    const handler = this.handlers.get(envelope.kind);
    return handler ? handler(envelope) : 'not-held';
  }
}
