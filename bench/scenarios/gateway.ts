import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { runLoad } from '../lib/load.js';
import { countClientCommands } from '../lib/redis-commands.js';
import { type Server, startBaseline, startFleetNode } from '../lib/servers.js';
import { fmt, median, percentile, ratio, spread } from '../lib/stats.js';
import {
  assertEchoWorks,
  type ClientRecording,
  openSessions,
  recordClient,
  timedEcho,
  withIdPlaceholder,
} from '../lib/wire.js';

const TARGET_ADDED_MS = 0.5;
const TARGET_RATIO = 0.8;
const CONNECTIONS = 10;
const SESSIONS = 20;
const ROUND_TRIP_CALLS = 200;

interface Side {
  label: 'direct' | 'proxied';
  url: string;
  recording: ClientRecording;
  sessions: string[];
}

/**
 * (h) One upstream (the plain SDK baseline server), called directly and through a gateway node
 * (`/servers/baseline/mcp`), side by side: the latency the gateway adds to a pinned 2025-era call,
 * its throughput against the direct one, and the Redis round trips a pinned request costs.
 */
export async function gateway(ctx: BenchContext): Promise<ScenarioReport> {
  const servers: Server[] = [];
  try {
    const upstream = await startBaseline(ctx.entries);
    servers.push(upstream);
    const upstreams = JSON.stringify({ baseline: { urls: [upstream.url] } });
    const node = await startFleetNode(ctx.entries, ctx.redis.url, {
      nodeId: 'bench-h',
      env: { UPSTREAMS: upstreams },
    });
    servers.push(node);
    const sides: Side[] = [];
    for (const [label, url] of [
      ['direct', `${upstream.url}/mcp`],
      ['proxied', `${node.url}/servers/baseline/mcp`],
    ] as const) {
      const recording = await recordClient('2025', url);
      const sessions = await openSessions(url, recording, SESSIONS);
      await assertEchoWorks(url, recording, sessions[0]);
      sides.push({ label, url, recording, sessions });
    }
    const [direct, proxied] = sides as [Side, Side];

    // Latency: one call at a time, alternating sides so that both see the same machine.
    const calls = ctx.settings.quick ? 200 : 1000;
    const times = { direct: [] as number[], proxied: [] as number[] };
    for (let i = 0; i < calls + 50; i++) {
      for (const side of i % 2 ? [direct, proxied] : [proxied, direct]) {
        const ms = await timedEcho(side.url, side.recording, side.sessions[i % SESSIONS]);
        if (i >= 50) times[side.label].push(ms);
      }
    }
    const p50 = { direct: percentile(times.direct, 50), proxied: percentile(times.proxied, 50) };
    const added = p50.proxied - p50.direct;
    ctx.log(
      `(h) p50 direct ${fmt(p50.direct, 3)} ms, proxied ${fmt(p50.proxied, 3)} ms: +${fmt(added, 3)} ms`,
    );

    // Throughput: autocannon rounds, each measuring both sides back to back in a rotating order.
    const load = (side: Side, seconds: number) =>
      runLoad({
        url: side.url,
        connections: CONNECTIONS,
        durationSeconds: seconds,
        requests: side.sessions.map((id) => ({
          ...withIdPlaceholder(side.recording.toolCall, id),
          path: new URL(side.url).pathname,
        })),
      });
    for (const side of sides) await load(side, ctx.settings.warmupSeconds);
    const rates = { direct: [] as number[], proxied: [] as number[] };
    for (let run = 0; run < ctx.settings.runs; run++) {
      for (const side of run % 2 ? [direct, proxied] : [proxied, direct]) {
        rates[side.label].push((await load(side, ctx.settings.runSeconds)).callsPerSecond);
      }
    }
    const ratios = rates.proxied.map((r, i) => ratio(r, rates.direct[i] ?? Number.NaN));
    const throughputRatio = median(ratios);
    ctx.log(`(h) ${CONNECTIONS} connections: proxied ÷ direct = ${fmt(throughputRatio, 2)}×`);

    // Round trips: pinned calls through the gateway under MONITOR, with the rate limiter on (it
    // runs on every request, gateway or not) and without it (the gateway's own cost).
    const withLimits = await roundTripsPerCall(ctx, proxied);
    const node2 = await startFleetNode(ctx.entries, ctx.redis.url, {
      nodeId: 'bench-h-no-limits',
      env: { UPSTREAMS: upstreams, RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_PRINCIPAL: '0' },
    });
    servers.push(node2);
    // The node has never seen these sessions: the pins open on any node.
    const withoutLimits = await roundTripsPerCall(ctx, {
      ...proxied,
      url: `${node2.url}/servers/baseline/mcp`,
    });
    ctx.log(
      `(h) round trips per pinned call: ${fmt(withLimits, 2)} (rate limits on), ${fmt(withoutLimits, 2)} (off)`,
    );

    const met = added <= TARGET_ADDED_MS && throughputRatio >= TARGET_RATIO && withoutLimits === 0;
    return {
      id: 'h',
      title: 'gateway: a proxied call against a direct call to one upstream',
      target: `≤ ${TARGET_ADDED_MS} ms added at p50, ≥ ${TARGET_RATIO}× direct throughput, 0 Redis round trips per pinned request`,
      met,
      headline: `+${fmt(added, 3)} ms at p50, ${fmt(throughputRatio, 2)}× throughput, ${fmt(withoutLimits, 2)} round trips (${fmt(withLimits, 2)} with the rate limiter)`,
      details: [
        'The upstream is the plain SDK baseline server (2025 era, sessions in memory). "direct" calls it; "proxied" calls',
        `the same server through one gateway node at /servers/baseline/mcp, whose ${SESSIONS} sessions are pinned by sealed tokens.`,
        '',
        '| | direct | proxied | difference |',
        '|---|---:|---:|---:|',
        `| p50 latency, one call at a time (${calls} calls each, ms) | ${fmt(p50.direct, 3)} | ${fmt(p50.proxied, 3)} | **+${fmt(added, 3)}** |`,
        `| p99 latency (ms) | ${fmt(percentile(times.direct, 99), 3)} | ${fmt(percentile(times.proxied, 99), 3)} | |`,
        `| calls/s at ${CONNECTIONS} connections (median of ${ctx.settings.runs}, min–max) | ${fmt(median(rates.direct))} (${spread(rates.direct)}) | ${fmt(median(rates.proxied))} (${spread(rates.proxied)}) | **${fmt(throughputRatio, 2)}×** (${spread(ratios, 2)}) |`,
        `| Redis round trips per pinned call (MONITOR, ${ROUND_TRIP_CALLS} calls) | 0 | ${fmt(withoutLimits, 2)} without rate limits, ${fmt(withLimits, 2)} with them | |`,
        '',
        'The one round trip with rate limits on is the per-principal limit, shared by every node through Redis, which the',
        "app runs on every authenticated request, proxied or not (the per-IP limit is counted in each node's memory);",
        'routing a pinned request reads only the token and local memory.',
      ].join('\n'),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function roundTripsPerCall(ctx: BenchContext, side: Side): Promise<number> {
  for (let i = 0; i < 10; i++) await assertEchoWorks(side.url, side.recording, side.sessions[i % SESSIONS]);
  const counts = await countClientCommands(ctx.redis.client(), async () => {
    for (let i = 0; i < ROUND_TRIP_CALLS; i++)
      await assertEchoWorks(side.url, side.recording, side.sessions[i % SESSIONS]);
  });
  return [...counts.values()].reduce((a, b) => a + b, 0) / ROUND_TRIP_CALLS;
}
