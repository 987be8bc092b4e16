import { readFileSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { pidOf, type Server, sampleProcess, startFleetNode } from '../lib/servers.js';
import { fmt } from '../lib/stats.js';
import { openSessions, recordClient } from '../lib/wire.js';

const TARGET_MIB = 500;
const TARGET_STREAMS = 10_000;
const MiB = 2 ** 20;
/** File descriptors kept free for everything else the processes do. */
const FD_HEADROOM = 1_000;

/**
 * (e) Idle 2025-era GET streams on one node: RSS with the node idle, with N sessions, and with a
 * GET stream open on each of them, so that the cost of a stream is separated from that of a session.
 */
export async function sseMemory(ctx: BenchContext): Promise<ScenarioReport> {
  const wanted = ctx.settings.streams;
  let node: Server | undefined;
  const requests: ClientRequest[] = [];
  try {
    node = await startFleetNode(ctx.entries, ctx.redis.url, {
      nodeId: 'bench-e',
      env: { SESSION_CACHE_MAX: String(wanted * 2) },
    });
    const pid = pidOf(node);
    const fdLimit = Math.min(openFileLimit('self'), openFileLimit(String(pid)));
    const count = Math.min(wanted, fdLimit - FD_HEADROOM);
    if (count < wanted) {
      ctx.log(`(e) open-file limit ${fdLimit} allows only ${count} streams; raise it with ulimit -n`);
    }
    const url = `${node.url}/mcp`;
    const recording = await recordClient('2025', url);
    await openSessions(url, recording, 20); // warm the code paths before the idle sample
    await settle();
    const idle = sampleProcess(pid).rssBytes;

    ctx.log(`(e) opening ${count} sessions`);
    const sessions = await openSessions(url, recording, count, 16);
    await settle();
    const withSessions = sampleProcess(pid).rssBytes;

    ctx.log(`(e) opening ${count} GET streams`);
    const headers: Record<string, string> = { ...recording.toolCall.headers, accept: 'text/event-stream' };
    delete headers['content-type'];
    const target = new URL(url);
    let next = 0;
    const openOne = async () => {
      while (next < sessions.length) {
        const sessionId = sessions[next++] as string;
        await new Promise<void>((resolve, reject) => {
          const req = request(
            {
              host: target.hostname,
              port: target.port,
              path: target.pathname,
              method: 'GET',
              agent: false,
              headers: { ...headers, 'mcp-session-id': sessionId },
            },
            (res) => {
              res.resume(); // heartbeats are read and dropped
              if (
                res.statusCode === 200 &&
                String(res.headers['content-type']).startsWith('text/event-stream')
              )
                resolve();
              else reject(new Error(`GET stream answered ${res.statusCode}`));
            },
          );
          req.on('error', reject);
          req.end();
          requests.push(req);
        });
      }
    };
    await Promise.all(Array.from({ length: 32 }, openOne));
    await settle();
    const withStreams = sampleProcess(pid).rssBytes;
    const perStream = (withStreams - withSessions) / count;
    const perSessionAndStream = (withStreams - idle) / count;
    // The target is about 10,000 streams: a smaller run (--quick, or a low open-file limit) has no verdict.
    const met = count >= TARGET_STREAMS ? withStreams / MiB < TARGET_MIB : null;
    ctx.log(`(e) RSS ${fmt(withStreams / MiB)} MiB with ${count} streams`);
    return {
      id: 'e',
      title: `Idle SSE streams: RSS with ${count.toLocaleString('en')} open GET streams on one node`,
      target: `< ${TARGET_MIB} MiB with 10,000 streams`,
      met,
      headline: `${fmt(withStreams / MiB)} MiB RSS with ${count.toLocaleString('en')} streams; ${fmt(perStream / 1024, 1)} KiB per stream, ${fmt(perSessionAndStream / 1024, 1)} KiB per session with its stream`,
      details: [
        `One node on Redis. ${count.toLocaleString('en')} 2025-era sessions (\`initialize\` + \`initialized\`), then one idle GET`,
        'stream on each, held open by the bench with their heartbeats drained. RSS read from /proc after 2 s of quiet.',
        `Open-file limit: ${fdLimit} (the \`bench\` npm script raises the soft limit to the hard one).`,
        '',
        '| state | RSS MiB |',
        '|---|---:|',
        `| idle (warm) | ${fmt(idle / MiB)} |`,
        `| ${count.toLocaleString('en')} sessions, no streams | ${fmt(withSessions / MiB)} |`,
        `| ${count.toLocaleString('en')} sessions with a GET stream each | **${fmt(withStreams / MiB)}** |`,
        '',
        `Per stream: ${fmt(perStream / 1024, 1)} KiB. Per session with its stream: ${fmt(perSessionAndStream / 1024, 1)} KiB.`,
      ].join('\n'),
    };
  } finally {
    for (const req of requests) req.destroy();
    await node?.stop();
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2_000));
}

/** The soft "Max open files" limit of a process, from /proc. */
function openFileLimit(pid: string): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 1024);
}
