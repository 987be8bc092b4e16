import { setTimeout as sleep } from 'node:timers/promises';
import { startReplicatedRedis } from '../../test/helpers/redis-failover.js';
import { startTestRedis } from '../../test/helpers/redis-server.js';
import { startTcpProxy } from '../../test/helpers/tcp-proxy.js';
import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { type Server, startFleetNode } from '../lib/servers.js';
import { fmt, median, spread } from '../lib/stats.js';
import { type ClientRecording, type Era, openSessions, recordClient, send } from '../lib/wire.js';

/** Sequential callers per era, each looping over its own sessions and both nodes. */
const CALLERS_PER_ERA = 4;
const SESSIONS = 20;
/** How long the endpoint keeps naming the old primary after the promotion (ElastiCache's DNS). */
const ENDPOINT_MOVES_AFTER_MS = 2_000;
/** How long the half-open endpoint forwards nothing. */
const HALF_OPEN_MS = 6_000;
const TARGET_SECONDS = 15;

interface Call {
  era: Era;
  startedAt: number;
  endedAt: number;
  status: number;
  retryAfter: string | null;
}

interface Run {
  /** From the fault to the end of the last failed call: every call started later succeeded. */
  resumeSeconds: number;
  /** The same, from the moment the fault was over (endpoint moved, or forwarding again). */
  resumeAfterRepairSeconds: number;
  calls: number;
  failed: Record<Era, number>;
  /** Failed calls answered anything but 503 with Retry-After. */
  unclear: number;
  /** 2025 sessions that answered 404 after the fault. */
  sessionsLost: number;
}

/**
 * (i) Redis failing over under load, as ElastiCache does it: a primary and a replica behind an
 * endpoint (a TCP proxy) that moves to the promoted replica 2 s after the promotion, while
 * connections still open to the old primary get READONLY. Two nodes, real client traffic
 * (recorded, replayed) of both eras, spread over both nodes. Also the half-open case: the endpoint
 * forwards nothing for 6 s without closing a socket, then new connections work again.
 */
export async function failover(ctx: BenchContext): Promise<ScenarioReport> {
  const runs = ctx.settings.quick ? 1 : 3;
  const failovers: Run[] = [];
  const halfOpens: Run[] = [];
  for (let i = 0; i < runs; i++) {
    failovers.push(await measure(ctx, 'failover'));
    halfOpens.push(await measure(ctx, 'half-open'));
  }
  const resume = median(failovers.map((r) => r.resumeSeconds));
  const lost = Math.max(...failovers.map((r) => r.sessionsLost), ...halfOpens.map((r) => r.sessionsLost));
  const unclear = [...failovers, ...halfOpens].reduce((n, r) => n + r.unclear, 0);
  ctx.log(`(i) failover: service back after ${fmt(resume, 2)} s; ${lost} sessions lost`);
  const row = (name: string, list: Run[]) =>
    `| ${name} | **${fmt(median(list.map((r) => r.resumeSeconds)), 2)}** (${spread(
      list.map((r) => r.resumeSeconds),
      2,
    )}) | ${fmt(median(list.map((r) => r.resumeAfterRepairSeconds)), 2)} | ${fmt(
      median(list.map((r) => r.failed['2025'])),
    )} of ${fmt(median(list.map((r) => r.calls)))} | ${fmt(median(list.map((r) => r.failed['2026'])))} | ${Math.max(
      ...list.map((r) => r.sessionsLost),
    )} |`;
  return {
    id: 'i',
    title: 'Redis failover under load',
    target: `service back within ${TARGET_SECONDS} s, no session lost, every failure a 503 with Retry-After`,
    met: resume <= TARGET_SECONDS && lost === 0 && unclear === 0,
    headline: `Multi-AZ failover: service back ${fmt(resume, 2)} s after it began (endpoint moved at ${
      ENDPOINT_MOVES_AFTER_MS / 1000
    } s); half-open: ${fmt(median(halfOpens.map((r) => r.resumeAfterRepairSeconds)), 2)} s after forwarding resumed; ${lost} sessions lost; ${unclear} failures other than 503 with Retry-After`,
    details: [
      `Two nodes behind a TCP proxy standing in for the primary endpoint; ${CALLERS_PER_ERA} sequential callers per era replay`,
      `what the real clients sent (\`tools/call echo\`), alternating between the nodes, 2025 callers over ${SESSIONS} sessions.`,
      `- **failover**: writes paused on the primary until the replica caught up, replica promoted (\`REPLICAOF NO ONE\`), old`,
      `  primary demoted (\`REPLICAOF\` the new one, so open connections get READONLY), endpoint moved ${
        ENDPOINT_MOVES_AFTER_MS / 1000
      } s later.`,
      `- **half-open**: the endpoint forwards nothing for ${HALF_OPEN_MS / 1000} s and closes nothing; then new connections`,
      '  work again, and the old sockets stay dead.',
      '',
      `"Back after" runs from the fault to the end of the last failed call: every call started later succeeded.`,
      `Medians of ${runs} run(s) (spread in brackets). A lost session is a 2025 session answering 404 afterwards.`,
      '',
      '| fault | back after s | back after the repair s | 2025 calls failed | 2026 calls failed | sessions lost |',
      '|---|---:|---:|---:|---:|---:|',
      row('failover', failovers),
      row('half-open', halfOpens),
      '',
      `Failures answered anything but 503 with Retry-After: ${unclear}.`,
    ].join('\n'),
  };
}

async function measure(ctx: BenchContext, fault: 'failover' | 'half-open'): Promise<Run> {
  const stops: (() => Promise<unknown>)[] = [];
  try {
    let redisUrl: string;
    let inject: () => Promise<{ faultAt: number; repairedAt: number }>;
    if (fault === 'failover') {
      const redis = await startReplicatedRedis();
      stops.push(() => redis.close());
      redisUrl = redis.url;
      inject = async () => {
        const times = await redis.failover({ endpointMovesAfterMs: ENDPOINT_MOVES_AFTER_MS });
        return { faultAt: times.startedAt, repairedAt: times.endpointMovedAt };
      };
    } else {
      const redis = await startTestRedis();
      stops.push(() => redis.close());
      const proxy = await startTcpProxy(redis.port);
      stops.push(() => proxy.close());
      redisUrl = proxy.url;
      inject = async () => {
        const faultAt = performance.now();
        proxy.blackhole();
        await sleep(HALF_OPEN_MS);
        proxy.restore();
        return { faultAt, repairedAt: performance.now() };
      };
    }
    const nodes: Server[] = [];
    for (const i of [1, 2]) {
      const node = await startFleetNode(ctx.entries, redisUrl, { nodeId: `bench-h-${i}` });
      stops.push(() => node.stop());
      nodes.push(node);
    }
    const urls = nodes.map((n) => `${n.url}/mcp`);
    const recordings = {
      '2025': await recordClient('2025', urls[0]!),
      '2026': await recordClient('2026', urls[0]!),
    };
    const sessions = await openSessions(urls[0]!, recordings['2025'], SESSIONS);

    const calls: Call[] = [];
    let running = true;
    const caller = async (era: Era, index: number) => {
      for (let n = index; running; n++) {
        const url = urls[n % urls.length]!;
        const sessionId = era === '2025' ? sessions[n % sessions.length] : undefined;
        calls.push(await timedCall(era, url, recordings[era], sessionId));
        if (calls.at(-1)?.status !== 200) await sleep(100);
      }
    };
    const loops = (['2025', '2026'] as Era[]).flatMap((era) =>
      Array.from({ length: CALLERS_PER_ERA }, (_, i) => caller(era, i)),
    );
    await sleep(2_000);
    const { faultAt, repairedAt } = await inject();
    await waitUntilReady(nodes, TARGET_SECONDS * 1_000 * 2);
    await sleep(3_000);
    running = false;
    await Promise.all(loops);

    const failures = calls.filter((c) => c.status !== 200);
    const backAt = Math.max(faultAt, ...failures.map((c) => c.endedAt));
    let sessionsLost = 0;
    for (const sessionId of sessions) {
      if ((await send(urls[0]!, recordings['2025'].toolCall, sessionId)).status === 404) sessionsLost++;
    }
    return {
      resumeSeconds: (backAt - faultAt) / 1000,
      resumeAfterRepairSeconds: Math.max(0, backAt - repairedAt) / 1000,
      calls: calls.filter((c) => c.era === '2025').length,
      failed: {
        '2025': failures.filter((c) => c.era === '2025').length,
        '2026': failures.filter((c) => c.era === '2026').length,
      },
      unclear: failures.filter((c) => c.status !== 503 || c.retryAfter === null).length,
      sessionsLost,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

async function timedCall(
  era: Era,
  url: string,
  recording: ClientRecording,
  sessionId?: string,
): Promise<Call> {
  const startedAt = performance.now();
  const message = JSON.parse(recording.toolCall.body) as Record<string, unknown>;
  message.id = `bench-h-${Math.random().toString(36).slice(2)}`;
  const headers = { ...recording.toolCall.headers, ...(sessionId ? { 'mcp-session-id': sessionId } : {}) };
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    // A 200 whose event stream carries no result (the call broke mid-way) is a failure too.
    const status = response.status === 200 && !text.includes('"result"') ? 0 : response.status;
    return {
      era,
      startedAt,
      endedAt: performance.now(),
      status,
      retryAfter: response.headers.get('retry-after'),
    };
  } catch {
    return { era, startedAt, endedAt: performance.now(), status: 0, retryAfter: null };
  }
}

async function waitUntilReady(nodes: Server[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const statuses = await Promise.all(
      nodes.map((n) =>
        fetch(`${n.url}/ready`).then(
          (r) => r.status,
          () => 0,
        ),
      ),
    );
    if (statuses.every((s) => s === 200)) return;
    await sleep(100);
  }
  throw new Error(`the nodes were not ready again within ${timeoutMs} ms of the fault`);
}
