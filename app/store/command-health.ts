/**
 * Whether the commands connection really works, judged by what real commands saw. A connection can
 * be `ready` and useless: open to a demoted primary (every write answers `READONLY`), or half-open
 * (nothing answers, and each command waits out its timeout). The connection status says neither.
 *
 * The window is the last FAILURES_TO_TRIP outcomes: when all of them failed, within WINDOW_MS, the
 * node is not ready and `/mcp` answers 503 at once. One success clears it. So one or two stray
 * timeouts under load never flip readiness, and a recovery shows at the next success.
 */
export interface CommandHealth {
  record(outcome: 'ok' | 'failed'): void;
  /** Why commands are failing now; undefined while they work. */
  problem(): string | undefined;
  /** When the last outcome was recorded (ms since the epoch), 0 before any. */
  lastOutcomeAt(): number;
}

const FAILURES_TO_TRIP = 3;
const WINDOW_MS = 5_000;

export function createCommandHealth(now: () => number = Date.now): CommandHealth {
  /** When each of the newest outcomes happened, and whether it failed, oldest first. */
  const recent: { at: number; failed: boolean }[] = [];
  return {
    record(outcome) {
      recent.push({ at: now(), failed: outcome === 'failed' });
      if (recent.length > FAILURES_TO_TRIP) recent.shift();
    },
    problem() {
      if (recent.length < FAILURES_TO_TRIP || !recent.every((o) => o.failed)) return undefined;
      if (now() - (recent[0]?.at ?? 0) > WINDOW_MS) return undefined;
      return `the last ${FAILURES_TO_TRIP} redis commands failed`;
    },
    lastOutcomeAt: () => recent.at(-1)?.at ?? 0,
  };
}

/**
 * Keeps the outcomes fresh when real traffic does not: after IDLE_MS without an outcome (or
 * RETRY_MS while failing, to see the recovery soon), runs `probe`, whose outcome `timed` records.
 * Only while the connection is up: a down connection already makes the node unready.
 */
export function keepProbing(
  health: CommandHealth,
  probe: () => Promise<unknown>,
  isConnected: () => boolean,
): () => void {
  const IDLE_MS = 1_000;
  const RETRY_MS = 250;
  let pending = false;
  const timer = setInterval(() => {
    if (pending || !isConnected()) return;
    const quietFor = Date.now() - health.lastOutcomeAt();
    if (quietFor < (health.problem() ? RETRY_MS : IDLE_MS)) return;
    pending = true;
    probe()
      .catch(() => undefined)
      .finally(() => {
        pending = false;
      });
  }, RETRY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
