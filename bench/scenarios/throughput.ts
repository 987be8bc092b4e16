import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { type LoadResult, runLoad } from '../lib/load.js';
import { pidOf, type Server, sampleProcess, startBaseline, startFleetNode } from '../lib/servers.js';
import { fmt, median, ratio, spread } from '../lib/stats.js';
import {
  assertEchoWorks,
  type Era,
  openSessions,
  type RecordedRequest,
  recordClient,
  withIdPlaceholder,
} from '../lib/wire.js';

const TARGET_RATIO = 0.9;
/** 2025-era load spreads over this many sessions, as many clients would. */
const SESSIONS = 50;

interface Target {
  label: string;
  /** Processes whose CPU time a call costs: the server, and for ours also Redis. */
  pids: number[];
  era: Era;
  side: 'baseline' | 'ours';
  url: string;
  requests: RecordedRequest[];
}

/** (a) tools/call echo throughput and latency, ours with Redis against the plain SDK in memory. */
export async function throughput(ctx: BenchContext): Promise<ScenarioReport> {
  const { settings } = ctx;
  const servers: Server[] = [];
  try {
    const baseline = await startBaseline(ctx.entries);
    servers.push(baseline);
    const ours = await startFleetNode(ctx.entries, ctx.redis.url, { nodeId: 'bench-a' });
    servers.push(ours);

    const targets: Target[] = [];
    for (const era of ['2025', '2026'] as const) {
      for (const [side, server] of [
        ['baseline', baseline],
        ['ours', ours],
      ] as const) {
        const pids = side === 'ours' ? [pidOf(server), ctx.redis.pid ?? 0] : [pidOf(server)];
        targets.push({ ...(await prepareTarget(era, side, `${server.url}/mcp`)), pids });
      }
    }

    const rows: string[] = [];
    const verdicts: boolean[] = [];
    let headline = '';
    for (const connections of settings.concurrencies) {
      ctx.log(`(a) ${connections} concurrent: warming up`);
      for (const target of targets) await load(target, connections, settings.warmupSeconds);
      const results = new Map<Target, Measured[]>(targets.map((t) => [t, []]));
      for (let run = 0; run < settings.runs; run++) {
        // Rotate the order each round, so that no target always runs first on a warm or tired machine.
        const order = targets.map((_, i) => targets[(i + run) % targets.length] as Target);
        for (const target of order) {
          results.get(target)?.push(await load(target, connections, settings.runSeconds));
        }
      }
      for (const era of ['2025', '2026'] as const) {
        const base = results.get(find(targets, era, 'baseline')) ?? [];
        const mine = results.get(find(targets, era, 'ours')) ?? [];
        // The ratio of each round, then the median: rounds run close together, so they share the noise.
        const ratios = mine.map((m, i) => ratio(m.callsPerSecond, base[i]?.callsPerSecond ?? Number.NaN));
        const r = median(ratios);
        const cpuRatio = median(
          mine.map((m, i) => ratio(m.cpuMsPerCall, base[i]?.cpuMsPerCall ?? Number.NaN)),
        );
        const met = r >= TARGET_RATIO;
        verdicts.push(met);
        rows.push(
          `| ${era} | ${connections} | ${cps(base)} | ${cps(mine)} | **${fmt(r, 2)}×** (${spread(ratios, 2)}) | ${lat(base)} | ${lat(mine)} | ${cpuMs(base)} | ${cpuMs(mine)} (${fmt(cpuRatio, 2)}×) | ${met ? 'met' : 'missed'} |`,
        );
        if (connections === Math.max(...settings.concurrencies)) {
          headline += `${era}: ${fmt(r, 2)}× at ${connections} concurrent. `;
        }
        ctx.log(
          `(a) ${era} @${connections}: ours ${cps(mine)} vs baseline ${cps(base)} calls/s → ${fmt(r, 2)}×`,
        );
      }
    }

    return {
      id: 'a',
      title: 'tools/call echo throughput: our node on Redis vs the plain SDK in memory',
      target: `≥ ${TARGET_RATIO}× the baseline`,
      met: verdicts.every(Boolean),
      headline: headline.trim(),
      details: [
        `Each cell is the median of ${settings.runs} run(s) of ${settings.runSeconds} s after a ${settings.warmupSeconds} s warm-up, with the min–max of the runs. `,
        'The ratio is the median of per-round ratios (ours ÷ baseline, measured back to back). ',
        `2025-era load spreads over ${SESSIONS} sessions; 2026 requests carry the envelope the real v2 client sends.`,
        '',
        'autocannon reports latency in whole milliseconds, so 0.0 means under 1 ms.',
        'CPU ms per call is the CPU time the server process used (ours: node + Redis) divided by the calls served:',
        'on a machine shared with other work it is steadier than calls/s, and it is what a fleet pays for.',
        '',
        '| era | concurrent | baseline calls/s | ours calls/s | ratio (spread) | baseline p50 / p99 ms | ours p50 / p99 ms | baseline CPU ms/call | ours CPU ms/call (× baseline) | ≥ 0.9× |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
        ...rows,
      ].join('\n'),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function prepareTarget(era: Era, side: Target['side'], url: string): Promise<Omit<Target, 'pids'>> {
  const recording = await recordClient(era, url);
  if (era === '2026') {
    await assertEchoWorks(url, recording);
    return { label: `${side} ${era}`, era, side, url, requests: [withIdPlaceholder(recording.toolCall)] };
  }
  const sessions = await openSessions(url, recording, SESSIONS);
  await assertEchoWorks(url, recording, sessions[0]);
  const requests = sessions.map((id) => withIdPlaceholder(recording.toolCall, id));
  return { label: `${side} ${era}`, era, side, url, requests };
}

interface Measured extends LoadResult {
  /** CPU milliseconds the target's processes spent per call: robust where calls/s is not on a busy machine. */
  cpuMsPerCall: number;
}

async function load(target: Target, connections: number, durationSeconds: number): Promise<Measured> {
  const { pathname } = new URL(target.url);
  const cpu = () => target.pids.reduce((sum, pid) => sum + sampleProcess(pid).cpuSeconds, 0);
  const before = cpu();
  const result = await runLoad({
    url: target.url,
    connections,
    durationSeconds,
    requests: target.requests.map((r) => ({ ...r, path: pathname })),
  });
  return { ...result, cpuMsPerCall: ((cpu() - before) * 1000) / result.total };
}

function find(targets: Target[], era: Era, side: Target['side']): Target {
  const found = targets.find((t) => t.era === era && t.side === side);
  if (!found) throw new Error(`no ${side} target for ${era}`);
  return found;
}

function cpuMs(results: Measured[]): string {
  return fmt(median(results.map((r) => r.cpuMsPerCall)), 3);
}

function cps(results: LoadResult[]): string {
  const values = results.map((r) => r.callsPerSecond);
  return `${fmt(median(values))} (${spread(values)})`;
}

function lat(results: LoadResult[]): string {
  return `${fmt(median(results.map((r) => r.p50Ms)), 1)} / ${fmt(median(results.map((r) => r.p99Ms)), 1)}`;
}
