import type { TestRedis } from '../../test/helpers/redis-server.js';
import type { Entries } from './build.js';

/** How long and how often to measure; `--quick` shrinks everything to validate the harness. */
export interface Settings {
  quick: boolean;
  warmupSeconds: number;
  runSeconds: number;
  runs: number;
  concurrencies: number[];
  /** Idle SSE streams opened on one node for scenario (e). */
  streams: number;
  /** Sessions restored on a foreign node for scenario (c). */
  restores: number;
  /** Notifications timed for scenario (d). */
  notifications: number;
  coldStarts: number;
}

export function settingsFor(quick: boolean): Settings {
  return quick
    ? {
        quick,
        warmupSeconds: 1,
        runSeconds: 2,
        runs: 1,
        concurrencies: [1, 10, 50],
        streams: 1_000,
        restores: 30,
        notifications: 50,
        coldStarts: 2,
      }
    : {
        quick,
        warmupSeconds: 2,
        runSeconds: 4,
        runs: 3,
        concurrencies: [1, 10, 50],
        streams: 10_000,
        restores: 200,
        notifications: 300,
        coldStarts: 5,
      };
}

export interface BenchContext {
  settings: Settings;
  /** How servers are started: built JS (the default) or from source. */
  entries: Entries;
  /** The private redis-server every scenario's nodes share (never the machine's own Redis). */
  redis: TestRedis;
  log(message: string): void;
}

/** One scenario's outcome, rendered into the console and bench/RESULTS.md. */
export interface ScenarioReport {
  id: string;
  title: string;
  target: string;
  /** null when the scenario has no pass/fail target or could not run. */
  met: boolean | null;
  /** One line: the headline number against the target. */
  headline: string;
  /** Markdown: the table of medians, spreads and ratios, and notes. */
  details: string;
}
