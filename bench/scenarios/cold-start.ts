import { loadavg } from 'node:os';
import { spawnApp } from '../../test/helpers/app-node.js';
import { freePort } from '../../test/helpers/ports.js';
import { initializeRequest } from '../../test/helpers/raw-streamable.js';
import { SOURCE_ENTRIES } from '../lib/build.js';
import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { BENCH_AUTH_HEADERS, clusterEnvFor } from '../lib/servers.js';
import { fmt, median, spread } from '../lib/stats.js';

const TARGET_MS = 1_000;

/**
 * (f) Process spawn to the first 200 from /ready, with Redis, started as the container starts it
 * (the built JavaScript). The tsx source start (`npm run dev`, the tests) is shown for comparison.
 */
export async function coldStart(ctx: BenchContext): Promise<ScenarioReport> {
  const built: number[] = [];
  const source: number[] = [];
  const firstAnswer: number[] = [];
  const secondAnswer: number[] = [];
  for (let i = 0; i < ctx.settings.coldStarts; i++) {
    const start = await timeToReady(ctx, ctx.entries.node, ctx.entries.app);
    built.push(start.readyMs);
    firstAnswer.push(start.firstAnswerMs);
    secondAnswer.push(start.secondAnswerMs);
    source.push((await timeToReady(ctx, ctx.entries.node, SOURCE_ENTRIES.app)).readyMs);
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
      '',
      'Ready should mean ready: right after that 200, the built node is sent two `initialize` requests in turn (API key,',
      'answered on an SSE stream). Work a node defers to its first request (a lazy parse, a first compile) shows as',
      'the first answer taking longer than the second.',
      '',
      '| built node, after /ready | median ms | spread ms |',
      '|---|---:|---:|',
      `| first \`initialize\` answered | ${fmt(median(firstAnswer), 1)} | ${spread(firstAnswer, 1)} |`,
      `| second \`initialize\` answered | ${fmt(median(secondAnswer), 1)} | ${spread(secondAnswer, 1)} |`,
    ].join('\n'),
  };
}

interface Start {
  readyMs: number;
  firstAnswerMs: number;
  secondAnswerMs: number;
}

async function timeToReady(ctx: BenchContext, node: string, entry: string[]): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const { child, logs } = spawnApp(
    { ...clusterEnvFor(ctx.redis.url), PORT: String(port) },
    { entry, node, maxLogLines: 200 },
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
      if (ready) {
        const readyMs = performance.now() - started;
        const firstAnswerMs = await timedInitialize(port);
        return { readyMs, firstAnswerMs, secondAnswerMs: await timedInitialize(port) };
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`the node was not ready within 30 s:\n${logs.join('\n')}`);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** One 2025-era `initialize`, from sending it to the end of its answer. */
async function timedInitialize(port: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: {
      ...BENCH_AUTH_HEADERS,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify(initializeRequest('bench-cold-start')),
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`initialize after /ready answered ${response.status}: ${text}`);
  return performance.now() - started;
}
