import { type LocalCluster, startCluster } from '../../test/helpers/cluster.js';
import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { type LoadResult, runLoad } from '../lib/load.js';
import { PRODUCTION_SETTINGS, sampleProcess, treeCpuSeconds } from '../lib/servers.js';
import { fmt, median, spread } from '../lib/stats.js';
import { assertEchoWorks, type Era, openSessions, recordClient, withIdPlaceholder } from '../lib/wire.js';

const CONNECTIONS = 50;
const SESSIONS = 50;

interface Measured {
  results: LoadResult[];
  /** CPU seconds per 1000 calls: app nodes only, and app nodes + Redis + nginx. */
  nodeCpuPer1000: number[];
  allCpuPer1000: number[];
}

/**
 * (g) The local nginx cluster (test/helpers/cluster.ts, as `npm run cluster` starts it): one node
 * against three, both eras, 50 concurrent. On a 2-core machine three nodes cannot be faster than one
 * by much, since they share the cores with nginx, Redis and the load generator; CPU-seconds per
 * 1000 calls is the figure that carries over to a real fleet.
 */
export async function cluster(ctx: BenchContext): Promise<ScenarioReport> {
  const rows: string[] = [];
  const summary: Record<string, Record<number, Measured>> = {};
  for (const nodes of [1, 3]) {
    const local: LocalCluster = await startCluster({
      nodes,
      env: PRODUCTION_SETTINGS,
      namePrefix: `bench-g${nodes}`,
      maxLogLines: 500,
      entry: ctx.entries.app,
      node: ctx.entries.node,
    });
    try {
      const url = `${local.url}/mcp`;
      for (const era of ['2025', '2026'] as Era[]) {
        const recording = await recordClient(era, url);
        const sessions = era === '2025' ? await openSessions(url, recording, SESSIONS) : [undefined];
        await assertEchoWorks(url, recording, sessions[0]);
        const requests = sessions.map((id) => ({
          ...withIdPlaceholder(recording.toolCall, id),
          path: '/mcp',
        }));
        const load = (seconds: number) =>
          runLoad({ url, connections: CONNECTIONS, durationSeconds: seconds, requests });
        await load(ctx.settings.warmupSeconds);
        const measured: Measured = { results: [], nodeCpuPer1000: [], allCpuPer1000: [] };
        for (let run = 0; run < ctx.settings.runs; run++) {
          const nodeCpu = () =>
            local.nodes.reduce((sum, n) => sum + sampleProcess(n.current.process.pid ?? 0).cpuSeconds, 0);
          const infraCpu = () =>
            treeCpuSeconds(local.nginx.pid) +
            local.redis.pids.reduce((sum, pid) => sum + sampleProcess(pid).cpuSeconds, 0);
          const beforeNodes = nodeCpu();
          const beforeInfra = infraCpu();
          const result = await load(ctx.settings.runSeconds);
          const nodesUsed = nodeCpu() - beforeNodes;
          const allUsed = nodesUsed + infraCpu() - beforeInfra;
          measured.results.push(result);
          measured.nodeCpuPer1000.push((nodesUsed / result.total) * 1000);
          measured.allCpuPer1000.push((allUsed / result.total) * 1000);
        }
        summary[era] ??= {};
        (summary[era] as Record<number, Measured>)[nodes] = measured;
        const cps = measured.results.map((r) => r.callsPerSecond);
        rows.push(
          `| ${era} | ${nodes} | ${fmt(median(cps))} (${spread(cps)}) | ${fmt(median(measured.results.map((r) => r.p50Ms)), 1)} / ${fmt(median(measured.results.map((r) => r.p99Ms)), 1)} | ${fmt(median(measured.nodeCpuPer1000), 3)} | ${fmt(median(measured.allCpuPer1000), 3)} |`,
        );
        ctx.log(
          `(g) ${era}, ${nodes} node(s): ${fmt(median(cps))} calls/s, ${fmt(median(measured.nodeCpuPer1000), 3)} node CPU-s per 1000 calls`,
        );
      }
    } finally {
      await local.stop();
    }
  }
  const scale = (era: Era) => {
    const one = summary[era]?.[1];
    const three = summary[era]?.[3];
    if (!one || !three) return 'n/a';
    return `${fmt(median(three.results.map((r) => r.callsPerSecond)) / median(one.results.map((r) => r.callsPerSecond)), 2)}× calls/s, ${fmt(median(three.nodeCpuPer1000) / median(one.nodeCpuPer1000), 2)}× node CPU per call`;
  };
  return {
    id: 'g',
    title: 'Through the local nginx cluster: 1 node against 3',
    target: 'report (2-core machine): CPU-seconds per 1000 calls',
    met: null,
    headline: `3 nodes vs 1 — 2025: ${scale('2025')}; 2026: ${scale('2026')}`,
    details: [
      `nginx (scripts/nginx/mcp-ingress.conf.template via test/helpers/cluster.ts, round robin, buffering off) in front of`,
      `1 or 3 nodes on one Redis; ${CONNECTIONS} concurrent; 2025-era load over ${SESSIONS} sessions, which round robin spreads over`,
      'every node (each node restores each session once, then serves it warm).',
      '',
      '**Caveat:** this machine has 2 cores shared by the load generator, nginx, Redis and every node, so 3 nodes',
      'compete for the same cores as 1. Throughput cannot scale here; CPU-seconds per 1000 calls shows what a call',
      'costs, which is what a fleet of real machines multiplies.',
      '',
      '| era | nodes | calls/s (spread) | p50 / p99 ms | node CPU-s per 1000 calls | all CPU-s per 1000 calls (nodes + Redis + nginx) |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n'),
  };
}
