import { loadavg } from 'node:os';
import { spawnApp } from '../../test/helpers/app-node.js';
import { freePort } from '../../test/helpers/ports.js';
import { SOURCE_ENTRIES } from '../lib/build.js';
import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { clusterEnvFor } from '../lib/servers.js';
import { fmt, median, spread } from '../lib/stats.js';

const TARGET_MS = 1_000;

/**
 * (f) Process spawn to the first 200 from /ready, with Redis, started as the container starts it
 * (the built JavaScript). The tsx source start (`npm run dev`, the tests) is shown for comparison.
 */
export async function coldStart(ctx: BenchContext): Promise<ScenarioReport> {
  const built: number[] = [];
  const source: number[] = [];
  for (let i = 0; i < ctx.settings.coldStarts; i++) {
    built.push(await timeToReady(ctx, ctx.entries.app));
    source.push(await timeToReady(ctx, SOURCE_ENTRIES.app));
  }
  const p50 = median(built);
  const load = loadavg()[0] ?? Number.NaN;
  ctx.log(`(f) cold start ${fmt(p50)} ms built, ${fmt(median(source))} ms from source`);
  return {
    id: 'f',
    title: 'Cold start: process spawn to the first 200 on /ready',
    target: `≤ ${TARGET_MS} ms`,
    met: p50 <= TARGET_MS,
    headline: `${fmt(p50)} ms (median of ${built.length}); ${fmt(median(source))} ms from source via tsx; 1-min load average ${fmt(load, 1)}`,
    details: [
      'Each start spawns a fresh process with `REDIS_URL` set and polls `/ready` every 5 ms until it answers 200.',
      'Most of a start is loading and compiling code (one bundle for the build, every module for tsx), which scales with',
      `how busy the cores are: the 1-minute load average was ${fmt(load, 1)} on 2 cores at the end of this scenario.`,
      '',
      '| entry | median ms | spread ms |',
      '|---|---:|---:|',
      `| \`${ctx.entries.app.join(' ')}\` | **${fmt(p50)}** | ${spread(built)} |`,
      `| \`${SOURCE_ENTRIES.app.join(' ')}\` (source) | ${fmt(median(source))} | ${spread(source)} |`,
    ].join('\n'),
  };
}

async function timeToReady(ctx: BenchContext, entry: string[]): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const { child, logs } = spawnApp(
    { ...clusterEnvFor(ctx.redis.url), PORT: String(port) },
    { entry, maxLogLines: 200 },
  );
  try {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`the node exited with ${child.exitCode}:\n${logs.join('\n')}`);
      const ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`the node was not ready within 30 s:\n${logs.join('\n')}`);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
