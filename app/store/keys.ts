/**
 * The one place Redis key names are built. Every key starts with REDIS_KEY_PREFIX, so several
 * deployments can share a Redis. Keys of one session share a `{hash tag}`, so the multi-key
 * scripts also work on a Redis Cluster.
 */
export function createKeys(prefix: string) {
  return {
    prefix,
    session: (id: string) => `${prefix}session:{${id}}`,
    sessionMemory: (id: string) => `${prefix}session:{${id}}:memory`,
    principalMemory: (principal: string) => `${prefix}principal:{${principal}}:memory`,
    eventsChannel: () => `${prefix}events`,
  };
}

export type Keys = ReturnType<typeof createKeys>;
