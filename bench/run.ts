/**
 * `npm run bench [-- --quick] [-- --write] [-- --only a,b]`: starts its own Redis, nodes, baseline and
 * nginx on loopback, runs every scenario, prints the results, and with `--write` regenerates
 * bench/RESULTS.md. Never part of `npm test`.
 */
import { writeFileSync } from 'node:fs';
import { startTestRedis } from '../test/helpers/redis-server.js';
import { buildForBench, SOURCE_ENTRIES } from './lib/build.js';
import { type BenchContext, type ScenarioReport, settingsFor } from './lib/context.js';
import { describeMachine, renderResults } from './lib/report.js';
import { serverRuntime } from './lib/runtime.js';
import { cluster } from './scenarios/cluster.js';
import { coldStart } from './scenarios/cold-start.js';
import { failover } from './scenarios/failover.js';
import { gateway } from './scenarios/gateway.js';
import { notify } from './scenarios/notify.js';
import { restore } from './scenarios/restore.js';
import { roundTrips } from './scenarios/round-trips.js';
import { sseMemory } from './scenarios/sse-memory.js';
import { throughput } from './scenarios/throughput.js';

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<ScenarioReport>> = {
  a: throughput,
  b: roundTrips,
  c: restore,
  d: notify,
  e: sseMemory,
  f: coldStart,
  g: cluster,
  h: gateway,
  i: failover,
};

const TITLES: Record<string, string> = {
  a: 'tools/call echo throughput',
  b: 'Redis round trips per tool call',
  c: 'session restore on a foreign node',
  d: 'cross-node notification latency',
  e: 'idle session and GET stream memory',
  f: 'cold start to /ready',
  g: 'nginx cluster, 1 node against 3',
  h: 'gateway: proxied against direct',
  i: 'Redis failover under load',
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const write = args.includes('--write');
  const source = args.includes('--source');
  const only = optionValue(args, '--only')?.split(',');
  const ids = Object.keys(SCENARIOS).filter((id) => !only || only.includes(id));

  const started = Date.now();
  const log = (message: string) =>
    process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);
  const machine = describeMachine();
  log(`machine: ${machine.summary}`);
  log(source ? 'servers run from source (tsx)' : 'building the app (bundle) and the baseline (tsc)');
  const entries = source ? SOURCE_ENTRIES : buildForBench(serverRuntime(log));
  const redis = await startTestRedis();
  const settings = settingsFor(quick);
  const connections = optionValue(args, '--connections');
  if (connections) settings.concurrencies = connections.split(',').map(Number);
  const ctx: BenchContext = { settings, entries, redis, log };

  const reports: ScenarioReport[] = [];
  try {
    for (const id of ids) {
      const scenario = SCENARIOS[id];
      if (!scenario) continue;
      log(`scenario (${id}) ${TITLES[id] ?? ''}`);
      try {
        reports.push(await scenario(ctx));
      } catch (err) {
        log(`scenario (${id}) failed: ${(err as Error).stack ?? err}`);
        reports.push({
          id,
          title: TITLES[id] ?? id,
          target: '',
          met: null,
          headline: `failed: ${(err as Error).message}`,
          details: ['The scenario failed:', '', '```', (err as Error).message, '```'].join('\n'),
        });
      }
    }
  } finally {
    await redis.close();
  }

  const elapsedSeconds = (Date.now() - started) / 1000;
  const markdown = renderResults({ reports, machine, settings: ctx.settings, entries, elapsedSeconds, args });
  process.stdout.write(`${markdown}\n`);
  if (write) {
    writeFileSync(new URL('./RESULTS.md', import.meta.url), markdown);
    log('wrote bench/RESULTS.md');
  }
  log(`done in ${elapsedSeconds.toFixed(0)} s`);
  // Failed scenarios fail the run; a missed target does not (it is a finding, recorded in the results).
  process.exitCode = reports.some((r) => r.headline.startsWith('failed')) ? 1 : 0;
}

/** `--name value` or `--name=value`. */
function optionValue(args: string[], name: string): string | undefined {
  const arg = args.find((a) => a === name || a.startsWith(`${name}=`));
  if (!arg) return undefined;
  return arg.includes('=') ? arg.slice(name.length + 1) : args[args.indexOf(arg) + 1];
}

await main();
