/**
 * The one place Redis key names are built. Every key starts with REDIS_KEY_PREFIX, so several
 * deployments can share a Redis (the prefix has no braces). On a Redis Cluster every script and
 * multi-key command must touch one hash slot: the keys of one session share its `{id}` tag, those
 * of one principal its `{principal}`, those of one node process its `{address}`
 * (test/app/redis-cluster-slots.test.ts runs every script on a real cluster).
 */
export function createKeys(prefix: string) {
  return {
    prefix,
    session: (id: string) => `${prefix}session:{${id}}`,
    sessionMemory: (id: string) => `${prefix}session:{${id}}:memory`,
    principalMemory: (principal: string) => `${prefix}principal:{${principal}}:memory`,
    /**
     * A principal's leases (app/store/leases.ts): its live sessions or its open streams. Its keys
     * share the `{principal}` tag. A principal never starts with `}` (app/mcp/principal.ts), so
     * the tag is never empty and every key of one principal maps to the same slot.
     */
    principalLeases: (principal: string, kind: 'sessions' | 'streams') =>
      `${prefix}principal:{${principal}}:${kind}`,
    /**
     * The shared event log every node reads (app/bus/redis-event-log.ts): one Redis Stream, so one
     * hash slot.
     */
    eventLog: () => `${prefix}{events}:log`,
    /** Prefix of one rate limit's counters; rate-limiter-flexible appends `:<ip or principal>`. */
    rateLimit: (scope: 'ip' | 'principal') => `${prefix}ratelimit:${scope}`,
    /** The resumable streams of one session, in one Redis Stream whose entries name their stream. */
    sessionEvents: (sessionId: string) => `${prefix}session:{${sessionId}}:events`,
    /** Which node's relay address holds a 2024-11-05 SSE stream of the session. */
    sseStreamOwner: (sessionId: string) => `${prefix}session:{${sessionId}}:sse-owner`,
    /**
     * Each node process listens on its own relay channel (messages from peers, and their acks).
     * A node's channels and registry entry share the `{address}` tag: one shard per node.
     */
    relayChannel: (address: string) => `${prefix}relay:{${address}}`,
    /**
     * The messages relayed to the node process at `address` and not yet taken (a list): peers push,
     * its relay channel rings the doorbell (app/relay/redis-relay.ts).
     */
    relayInbox: (address: string) => `${prefix}relay:{${address}}:inbox`,
    /** Present while the node process at `address` is alive (app/relay/node-registry.ts). */
    liveNode: (address: string) => `${prefix}node:{${address}}`,
    /**
     * How a node checks its own Redis connections: a channel on its relay channel's shard where its
     * subscriber must hear its own SPUBLISH, and the key its idle write probe PEXPIREs (which never
     * exists, so nothing is written).
     */
    nodeProbe: (address: string) => `${prefix}probe:{${address}}`,
  };
}

export type Keys = ReturnType<typeof createKeys>;
