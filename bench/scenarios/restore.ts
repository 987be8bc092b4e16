import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { countClientCommands } from '../lib/redis-commands.js';
import { type Server, startFleetNode } from '../lib/servers.js';
import { fmt, median, percentile } from '../lib/stats.js';
import { openSessions, recordClient, timedEcho } from '../lib/wire.js';

/**
 * (c) The extra latency of the first call on a node that has never seen the session (it replays
 * the stored `initialize`), against the next call on the same node, which finds the transport warm.
 */
export async function restore(ctx: BenchContext): Promise<ScenarioReport> {
  const count = ctx.settings.restores;
  const servers: Server[] = [];
  try {
    const a = await startFleetNode(ctx.entries, ctx.redis.url, { nodeId: 'bench-c-a' });
    servers.push(a);
    const b = await startFleetNode(ctx.entries, ctx.redis.url, { nodeId: 'bench-c-b' });
    servers.push(b);
    const onA = `${a.url}/mcp`;
    const onB = `${b.url}/mcp`;
    const recording = await recordClient('2025', onA);
    const sessions = await openSessions(onA, recording, count);
    // Warm B's code paths with sessions that are not measured.
    for (const id of await openSessions(onA, recording, 10)) await timedEcho(onB, recording, id);

    const cold: number[] = [];
    const warm: number[] = [];
    // All first calls, then all second calls, each under MONITOR: round trips are noise-free.
    const coldCommands = await countClientCommands(ctx.redis.client(), async () => {
      for (const id of sessions) cold.push(await timedEcho(onB, recording, id));
    });
    const warmCommands = await countClientCommands(ctx.redis.client(), async () => {
      for (const id of sessions) warm.push(await timedEcho(onB, recording, id));
    });
    const perCall = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0) / count;
    const describe = (counts: Map<string, number>) =>
      [...counts.entries()].map(([command, n]) => `${command} ${fmt(n / count, 2)}`).join(', ');
    const restores = await restoresOn(b.url);
    if (restores < count) throw new Error(`node B restored ${restores} sessions, expected at least ${count}`);

    const rtt = await redisRoundTrip(ctx);
    const extra = median(cold) - median(warm);
    const budget = 1 + rtt;
    const met = extra <= budget;
    ctx.log(`(c) restore adds ${fmt(extra, 2)} ms at p50 (budget ${fmt(budget, 2)} ms)`);
    return {
      id: 'c',
      title: 'Extra latency of restoring a 2025 session on a foreign node',
      target: '≤ 1 ms + one Redis round trip at p50',
      met,
      headline: `+${fmt(extra, 2)} ms at p50 (budget ${fmt(budget, 2)} ms = 1 ms + RTT ${fmt(rtt, 2)} ms); Redis round trips ${fmt(perCall(coldCommands), 2)} on the restoring call vs ${fmt(perCall(warmCommands), 2)} warm`,
      details: [
        `${count} sessions opened on node A; each then called twice on node B, one at a time: the first call restores`,
        `(B counted ${restores} restores in \`mcp_session_restores_total\`), the second finds the transport warm. Both`,
        'calls check the session in Redis, so the difference is the cost of the restore itself.',
        '',
        '| call on B | p50 ms | p90 ms | p99 ms |',
        '|---|---:|---:|---:|',
        `| first (restores) | ${row(cold)} |`,
        `| second (warm) | ${row(warm)} |`,
        `| Redis PING from the bench | ${fmt(rtt, 3)} | | |`,
        '',
        `Redis round trips per call (MONITOR): first call ${fmt(perCall(coldCommands), 2)} (${describe(coldCommands)}),`,
        `second call ${fmt(perCall(warmCommands), 2)} (${describe(warmCommands)}). A restore itself needs no round trip`,
        'beyond the session check every call makes: the record comes back with that check.',
        '',
        `Extra at p50: **${fmt(extra, 2)} ms**; p99 of the first call minus p99 of the second: ${fmt(percentile(cold, 99) - percentile(warm, 99), 2)} ms.`,
      ].join('\n'),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

function row(values: number[]): string {
  return [50, 90, 99].map((p) => fmt(percentile(values, p), 2)).join(' | ');
}

async function restoresOn(nodeUrl: string): Promise<number> {
  const text = await (await fetch(`${nodeUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('mcp_session_restores_total') && l.includes('outcome="ok"'));
  return Number(line?.split(' ').pop() ?? 0);
}

/** Median PING time from the bench process: what one round trip costs on this machine right now. */
async function redisRoundTrip(ctx: BenchContext): Promise<number> {
  const client = ctx.redis.client();
  try {
    await client.ping();
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await client.ping();
      times.push(performance.now() - started);
    }
    return median(times);
  } finally {
    client.disconnect();
  }
}
