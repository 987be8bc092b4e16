import type { Redis } from 'ioredis';

/**
 * Counts the commands Redis receives from clients, via MONITOR. Commands that a Lua script runs
 * internally are reported with the source `lua` and are not round trips, so they are left out:
 * an EVALSHA counts once, however much its script does. A MULTI…EXEC block also counts once.
 */
export async function countClientCommands(
  monitorConnection: Redis,
  during: () => Promise<void>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const inTransaction = new Set<string>();
  const monitor = await monitorConnection.monitor();
  // Lines still in the socket when the connection closes reach ioredis after it left monitoring
  // mode, and it reports each as a "Command queue state error" (an 'error' event, which throws
  // with no listener; it ended scenario (h) once). Only an error while counting matters.
  let counting = true;
  let failure: Error | undefined;
  monitor.on('error', (err: Error) => {
    if (counting) failure ??= err;
  });
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    const command = String(args[0] ?? '').toLowerCase();
    // Connection setup (the bench's own clients connecting), not traffic.
    if (CONNECTION_SETUP.has(command)) return;
    // Each node's own health probes (keys.nodeProbe: a PUBLISH a second, a PEXPIRE when idle) run
    // whether or not calls arrive: they are not round trips of a call.
    if (args.some((arg) => String(arg).includes(':probe:'))) return;
    if (command === 'multi') inTransaction.add(source);
    if (inTransaction.has(source)) {
      if (command !== 'exec' && command !== 'discard') return;
      inTransaction.delete(source);
    }
    counts.set(command, (counts.get(command) ?? 0) + 1);
  });
  try {
    await during();
    // MONITOR lines trail the replies by a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    counting = false;
    monitor.disconnect();
  }
  if (failure) throw failure;
  return counts;
}

const CONNECTION_SETUP = new Set(['hello', 'client', 'auth', 'select', 'info']);

/** `INFO commandstats` as calls per command (script-internal commands included, as Redis counts them). */
export async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const stats = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    stats.set(String(match[1]), Number(match[2]));
  }
  return stats;
}

export function delta(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const result = new Map<string, number>();
  for (const [command, calls] of after) {
    if (CONNECTION_SETUP.has(command) || command.startsWith('client|') || command === 'monitor') continue;
    const d = calls - (before.get(command) ?? 0);
    if (d > 0) result.set(command, d);
  }
  return result;
}
