import type { Redis } from 'ioredis';
import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { startDelayProxy } from '../lib/delay-proxy.js';
import { commandStats, countClientCommands, delta } from '../lib/redis-commands.js';
import { type Server, startFleetNode } from '../lib/servers.js';
import { fmt, percentile } from '../lib/stats.js';
import { assertEchoWorks, type Era, openSessions, recordClient, timedEcho } from '../lib/wire.js';

const TARGET = 1;
const CALLS = 300;
const PARALLEL = 4;
/** What the delay proxy adds to each Redis reply, and how many calls are timed one at a time. */
const DELAY_MS = 50;
const SERIAL_CALLS = 40;

interface Variant {
  label: string;
  env: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { label: 'rate limits on (the default)', env: {} },
  {
    label: 'rate limits off (RATE_LIMIT_PER_IP=0, RATE_LIMIT_PER_PRINCIPAL=0)',
    env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_PRINCIPAL: '0' },
  },
];

/** (b) Redis round trips per tool call in steady state, counted with MONITOR and INFO commandstats. */
export async function roundTrips(ctx: BenchContext): Promise<ScenarioReport> {
  const rows: string[] = [];
  const serialRows: string[] = [];
  let worst = 0;
  let headline = '';
  let memory = '';
  for (const variant of VARIANTS) {
    let node: Server | undefined;
    try {
      node = await startFleetNode(ctx.entries, ctx.redis.url, { nodeId: 'bench-b', env: variant.env });
      const url = `${node.url}/mcp`;
      for (const era of ['2025', '2026'] as Era[]) {
        const recording = await recordClient(era, url);
        const sessions = era === '2025' ? await openSessions(url, recording, PARALLEL) : [];
        // Warm: scripts loaded (EVALSHA, not EVAL), transports and limiters in place.
        for (let i = 0; i < 20; i++) await assertEchoWorks(url, recording, sessions[i % PARALLEL]);

        const stats = ctx.redis.client();
        const before = await commandStats(stats);
        const counts = await countClientCommands(ctx.redis.client(), async () => {
          await Promise.all(
            Array.from({ length: PARALLEL }, async (_, lane) => {
              for (let i = 0; i < CALLS / PARALLEL; i++)
                await assertEchoWorks(url, recording, sessions[lane]);
            }),
          );
        });
        const after = await commandStats(stats);
        stats.disconnect();

        const perCall = [...counts.values()].reduce((a, b) => a + b, 0) / CALLS;
        if (era === '2025' && variant.env.RATE_LIMIT_PER_IP === undefined) {
          memory = await eventMemory(ctx.redis.client());
        }
        const breakdown = [...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([command, n]) => `${command} ${fmt(n / CALLS, 2)}`)
          .join(', ');
        const stat = delta(after, before);
        const statText = [...stat.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([command, n]) => `${command} ${fmt(n / CALLS, 2)}`)
          .join(', ');
        rows.push(
          `| ${era} | ${variant.label} | **${fmt(perCall, 2)}** | ${breakdown} | ${statText} | ${perCall <= TARGET ? 'met' : 'missed'} |`,
        );
        if (variant.env.RATE_LIMIT_PER_IP !== undefined) {
          headline += `${era} without rate limits: ${fmt(perCall, 2)} commands. `;
        }
        ctx.log(`(b) ${era}, ${variant.label}: ${fmt(perCall, 2)} round trips per call (${breakdown})`);
      }
    } finally {
      await node?.stop();
    }
  }
  // Round trips in series: the same calls with every Redis reply held DELAY_MS by a proxy.
  for (const era of ['2025', '2026'] as Era[]) {
    const inSeries = await awaitedRoundTrips(ctx, era);
    // Round trips come whole: the fraction is the two nodes' other work differing between runs.
    worst = Math.max(worst, Math.round(inSeries.roundTrips));
    headline = `${era}: ${fmt(inSeries.roundTrips, 2)} in series. ${headline}`;
    serialRows.push(
      `| ${era} | ${fmt(inSeries.direct, 2)} | ${fmt(inSeries.delayed, 2)} | **${fmt(inSeries.roundTrips, 2)}** | ${Math.round(inSeries.roundTrips) <= TARGET ? 'met' : 'missed'} |`,
    );
    ctx.log(`(b) ${era}: ${fmt(inSeries.roundTrips, 2)} round trips in series per call`);
  }
  return {
    id: 'b',
    title: 'Redis round trips per tool call (steady state)',
    target: `≤ ${TARGET} in series`,
    met: worst <= TARGET,
    headline: headline.trim(),
    details: [
      `**In series** (the target): ${SERIAL_CALLS} echo calls one at a time on a warm session, with API-key`,
      `authentication and both rate limits on, first straight to Redis, then through a proxy that holds every Redis`,
      `reply ${DELAY_MS} ms. The p50 difference divided by ${DELAY_MS} ms is the number of round trips a call waits for one`,
      'after another; commands sent together, or not awaited, add nothing. Round trips come whole, so the verdict',
      'rounds: the fraction is the rest of the call (CPU on a shared machine) differing between the two runs.',
      '',
      `| era | p50 ms direct | p50 ms with +${DELAY_MS} ms per reply | round trips in series | ≤ 1 |`,
      '|---|---:|---:|---:|---|',
      ...serialRows,
      '',
      `**Commands** sent, whether awaited or not: ${CALLS} echo calls after a warm-up, ${PARALLEL} at a time, counted with`,
      'MONITOR (commands a Lua script runs inside count as nothing, so EVALSHA is one; MULTI…EXEC is one).',
      'The commandstats column is the INFO commandstats delta per call, which also counts the commands scripts run.',
      '',
      '| era | configuration | commands per call | by command (MONITOR) | INFO commandstats per call | ≤ 1 |',
      '|---|---|---:|---|---|---|',
      ...rows,
      '',
      memory,
    ].join('\n'),
  };
}

/** p50 of one-at-a-time calls straight to Redis and through the delay proxy, and what that makes. */
async function awaitedRoundTrips(
  ctx: BenchContext,
  era: Era,
): Promise<{ direct: number; delayed: number; roundTrips: number }> {
  const proxy = await startDelayProxy(ctx.redis.port, DELAY_MS);
  const p50 = async (redisUrl: string, nodeId: string) => {
    const node = await startFleetNode(ctx.entries, redisUrl, { nodeId });
    try {
      const url = `${node.url}/mcp`;
      const recording = await recordClient(era, url);
      const [session] = era === '2025' ? await openSessions(url, recording, 1) : [];
      for (let i = 0; i < 10; i++) await timedEcho(url, recording, session);
      const times: number[] = [];
      for (let i = 0; i < SERIAL_CALLS; i++) times.push(await timedEcho(url, recording, session));
      return percentile(times, 50);
    } finally {
      await node.stop();
    }
  };
  try {
    const direct = await p50(ctx.redis.url, 'bench-b-direct');
    const delayed = await p50(proxy.url, 'bench-b-delayed');
    return { direct, delayed, roundTrips: Math.max(0, delayed - direct) / DELAY_MS };
  } finally {
    await proxy.close();
  }
}

/** What the resumable events of those calls hold in Redis: the session Streams' MEMORY USAGE per call. */
async function eventMemory(redis: Redis): Promise<string> {
  const keys = await redis.keys('bench:session:*:events');
  let bytes = 0;
  let entries = 0;
  for (const key of keys) {
    bytes += Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
    entries += await redis.xlen(key);
  }
  redis.disconnect();
  if (entries === 0) return 'No resumable events were stored.';
  return [
    `**Redis memory for resumable events** after the 2025 calls above (rate limits on): ${keys.length} session`,
    `Stream(s) holding ${entries} entries in ${fmt(bytes / 1024, 1)} KiB: **${fmt(bytes / entries, 0)} bytes per call**,`,
    `fixed cost included. A session's entries are kept for EVENT_STREAM_TTL_SECONDS (120 s by default), so a`,
    `deployment serving 1,000 calls/s keeps about 120,000 entries: ${fmt(((bytes / entries) * 120_000) / 2 ** 20, 0)} MiB at this size.`,
  ].join('\n');
}
