import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { commandStats, countClientCommands, delta } from '../lib/redis-commands.js';
import { type Server, startFleetNode } from '../lib/servers.js';
import { fmt } from '../lib/stats.js';
import { assertEchoWorks, type Era, openSessions, recordClient } from '../lib/wire.js';

const TARGET = 1;
const CALLS = 300;
const PARALLEL = 4;

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
  let worst = 0;
  let headline = '';
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
        if (variant.env.RATE_LIMIT_PER_IP === undefined) {
          worst = Math.max(worst, perCall);
          headline += `${era}: ${fmt(perCall, 2)}. `;
        } else {
          headline += `${era} without rate limits: ${fmt(perCall, 2)}. `;
        }
        ctx.log(`(b) ${era}, ${variant.label}: ${fmt(perCall, 2)} round trips per call (${breakdown})`);
      }
    } finally {
      await node?.stop();
    }
  }
  return {
    id: 'b',
    title: 'Redis round trips per tool call (steady state)',
    target: `≤ ${TARGET}`,
    met: worst <= TARGET,
    headline: headline.trim(),
    details: [
      `${CALLS} echo calls after a warm-up, ${PARALLEL} at a time. Round trips are the commands Redis received from`,
      'clients (MONITOR; commands a Lua script runs inside count as nothing, so EVALSHA is one; MULTI…EXEC is one).',
      'The commandstats column is the INFO commandstats delta per call, which also counts the commands scripts run.',
      '',
      '| era | configuration | round trips per call | by command (MONITOR) | INFO commandstats per call | ≤ 1 |',
      '|---|---|---:|---|---|---|',
      ...rows,
    ].join('\n'),
  };
}
