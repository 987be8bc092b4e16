import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { pidOf, type Server, sampleProcess, startFleetNode } from '../lib/servers.js';
import { fmt } from '../lib/stats.js';
import { openSessions, recordClient } from '../lib/wire.js';

const TARGET_SESSION_KIB = 8;
const TARGET_STREAM_KIB = 6;
const TARGET_STREAMS = 10_000;
/** SESSION_WARM_SECONDS for this node: sessions are idle once it has passed since their last request. */
const WARM_SECONDS = 5;
const GC_ON_SIGNAL = 'data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc())';
const MiB = 2 ** 20;
/** File descriptors kept free for everything else the processes do. */
const FD_HEADROOM = 1_000;

/**
 * (e) Idle 2025-era sessions and GET streams: RSS with a node idle, with N idle sessions (past
 * SESSION_WARM_SECONDS since their last request), and, on a second node that never held those
 * sessions' instances, with a GET stream open on each of them (a GET stream needs no instance).
 * The second node's RSS is free of the first's high-water mark, so a stream's cost is its own.
 */
export async function sseMemory(ctx: BenchContext): Promise<ScenarioReport> {
  const wanted = ctx.settings.streams;
  let node: Server | undefined;
  let streamNode: Server | undefined;
  const requests: ClientRequest[] = [];
  try {
    const options = (nodeId: string) => ({
      nodeId,
      env: { SESSION_CACHE_MAX: String(wanted * 2), SESSION_WARM_SECONDS: String(WARM_SECONDS) },
      // Bench only: a full garbage collection on SIGUSR2, so that heap in use counts live objects.
      nodeArgs: ['--expose-gc', '--import', GC_ON_SIGNAL],
    });
    node = await startFleetNode(ctx.entries, ctx.redis.url, options('bench-e'));
    streamNode = await startFleetNode(ctx.entries, ctx.redis.url, options('bench-e-streams'));
    const pid = pidOf(node);
    const streamPid = pidOf(streamNode);
    const fdLimit = Math.min(openFileLimit('self'), openFileLimit(String(streamPid)));
    const count = Math.min(wanted, fdLimit - FD_HEADROOM);
    if (count < wanted) {
      ctx.log(`(e) open-file limit ${fdLimit} allows only ${count} streams; raise it with ulimit -n`);
    }
    const url = `${node.url}/mcp`;
    const recording = await recordClient('2025', url);
    await openSessions(url, recording, 20); // warm the code paths before the idle sample
    await settle();
    const idle = sampleProcess(pid).rssBytes;
    const idleHeap = await heapUsed(node.url, pid);

    ctx.log(`(e) opening ${count} sessions`);
    const sessions = await openSessions(url, recording, count, 16);
    // Idle: past their warm time, and the sweep that closes warm instances has run.
    await new Promise((resolve) => setTimeout(resolve, WARM_SECONDS * 1000 * 2));
    await instancesClosed(node.url);
    await settle();
    const withSessions = sampleProcess(pid).rssBytes;
    const withSessionsHeap = await heapUsed(node.url, pid);

    ctx.log(`(e) opening ${count} GET streams on a second node`);
    const headers: Record<string, string> = { ...recording.toolCall.headers, accept: 'text/event-stream' };
    delete headers['content-type'];
    const target = new URL(`${streamNode.url}/mcp`);
    // Warm its code paths with 20 sessions, as the first node was, before its idle sample.
    await openSessions(`${streamNode.url}/mcp`, recording, 20);
    await settle();
    const streamNodeIdle = sampleProcess(streamPid).rssBytes;
    const streamNodeIdleHeap = await heapUsed(streamNode.url, streamPid);
    await openStreams(target, count, requests, (i) => ({
      ...headers,
      'mcp-session-id': sessions[i] as string,
    }));
    await settle();
    const withStreams = sampleProcess(streamPid).rssBytes;
    const withStreamsHeap = await heapUsed(streamNode.url, streamPid);
    const perSessionRss = (withSessions - idle) / count;
    const perSession = (withSessionsHeap - idleHeap) / count;
    // A node keeps nothing per idle session once its instance is closed (the record is in Redis): the
    // difference is then within the collector's noise and can come out below zero.
    const perSessionText = perSession < 102.4 ? 'under 0.1 KiB' : `${fmt(perSession / 1024, 1)} KiB`;
    const perStream = (withStreams - streamNodeIdle) / count;
    const perStreamHeap = (withStreamsHeap - streamNodeIdleHeap) / count;
    for (const req of requests.splice(0)) req.destroy();
    ctx.log(`(e) the same number of streams on a bare node:http server, for the runtime's floor`);
    const floor = await bareStreamsRss(ctx.entries.node, count, requests);
    const floorPerStream = (floor.withStreams - floor.idle) / count;
    // The target is about 10,000 streams: a smaller run (--quick, or a low open-file limit) has no verdict.
    const met =
      count >= TARGET_STREAMS
        ? perSession / 1024 <= TARGET_SESSION_KIB && perStream / 1024 <= TARGET_STREAM_KIB
        : null;
    ctx.log(`(e) RSS ${fmt(withStreams / MiB)} MiB with ${count} streams`);
    return {
      id: 'e',
      title: `Idle sessions and GET streams: memory with ${count.toLocaleString('en')} of each`,
      target: `≤ ${TARGET_SESSION_KIB} KiB per idle session and ≤ ${TARGET_STREAM_KIB} KiB per idle GET stream, at 10,000 of each`,
      met,
      headline: `${perSessionText} of heap per idle session (RSS high-water mark of opening them: ${fmt(perSessionRss / 1024, 1)} KiB), ${fmt(perStream / 1024, 1)} KiB RSS per idle GET stream (${fmt(perStreamHeap / 1024, 1)} KiB of it heap; a bare node:http stream: ${fmt(floorPerStream / 1024, 1)} KiB)`,
      details: [
        `Two nodes on one Redis. On the first, ${count.toLocaleString('en')} 2025-era sessions (\`initialize\` + \`initialized\`), left idle for`,
        `${WARM_SECONDS * 2} s (SESSION_WARM_SECONDS=${WARM_SECONDS} here, 30 by default: an idle session's server instance is closed`,
        'after it). On the second, which never held their instances, one idle GET stream on each, held open by the bench',
        'with their heartbeats drained (a GET stream needs no server instance).',
        "RSS read from /proc after 2 s of quiet; V8 heap in use from the node's own `nodejs_heap_size_used_bytes`.",
        'An idle session is judged on heap: V8 keeps the pages it grew to while the sessions were being opened (their',
        'instances were warm then), so RSS stays at that high-water mark although the instances are gone; the next',
        'burst reuses those pages. A stream is judged on RSS, on the second node: it holds a socket and buffers outside',
        'the heap too.',
        `Open-file limit: ${fdLimit} (the \`bench\` npm script raises the soft limit to the hard one).`,
        '',
        '| state | RSS MiB | heap in use MiB |',
        '|---|---:|---:|',
        `| first node idle (warm) | ${fmt(idle / MiB)} | ${fmt(idleHeap / MiB)} |`,
        `| first node, ${count.toLocaleString('en')} idle sessions | ${fmt(withSessions / MiB)} | ${fmt(withSessionsHeap / MiB)} |`,
        `| second node idle (warm) | ${fmt(streamNodeIdle / MiB)} | ${fmt(streamNodeIdleHeap / MiB)} |`,
        `| second node, ${count.toLocaleString('en')} GET streams | **${fmt(withStreams / MiB)}** | ${fmt(withStreamsHeap / MiB)} |`,
        '',
        `| bare \`node:http\` server idle | ${fmt(floor.idle / MiB)} | |`,
        `| bare \`node:http\` server, ${count.toLocaleString('en')} idle event streams | ${fmt(floor.withStreams / MiB)} | |`,
        '',
        `Per idle session: **${perSessionText}** of heap (${fmt(perSessionRss / 1024, 1)} KiB of RSS). Per idle GET stream: **${fmt(perStream / 1024, 1)} KiB** of RSS (${fmt(perStreamHeap / 1024, 1)} KiB of heap).`,
        '',
        `The floor: a bare \`node:http\` server that only writes event-stream headers and keeps each response (no`,
        `framework, no MCP) costs **${fmt(floorPerStream / 1024, 1)} KiB** of RSS per idle stream on this machine (the socket, its`,
        'HTTP parser and request/response objects, and their buffers): the target is below what Node itself needs.',
      ].join('\n'),
    };
  } finally {
    for (const req of requests) req.destroy();
    await node?.stop();
    await streamNode?.stop();
  }
}

/** Opens `count` GET event streams on `target` (32 at a time) and keeps them, reading and dropping what they send. */
async function openStreams(
  target: URL,
  count: number,
  requests: ClientRequest[],
  headersFor: (i: number) => Record<string, string> = () => ({ accept: 'text/event-stream' }),
): Promise<void> {
  let next = 0;
  const openOne = async () => {
    while (next < count) {
      const headers = headersFor(next++);
      await new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: 'GET',
            agent: false,
            headers,
          },
          (res) => {
            res.resume(); // heartbeats are read and dropped
            if (res.statusCode === 200 && String(res.headers['content-type']).startsWith('text/event-stream'))
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
}

/** Event-stream headers, then nothing: each response is kept open, as an idle stream is. */
const BARE_SERVER = `
import { createServer } from 'node:http';
const held = [];
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  held.push(res);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** RSS of a bare node:http server idle, then holding `count` idle event streams: the runtime's floor. */
async function bareStreamsRss(node: string, count: number, requests: ClientRequest[]) {
  const child = spawn(node, ['--input-type=module', '-e', BARE_SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once('exit', (code) => reject(new Error(`the bare server exited with ${code}`)));
    });
    const target = new URL(`http://127.0.0.1:${port}/`);
    await openStreams(target, 20, requests); // warm, as the node was
    await settle();
    const idle = sampleProcess(child.pid as number).rssBytes;
    await openStreams(target, count, requests);
    await settle();
    const withStreams = sampleProcess(child.pid as number).rssBytes;
    return { idle, withStreams };
  } finally {
    for (const req of requests.splice(0)) req.destroy();
    child.kill('SIGKILL');
  }
}

/**
 * The node's own V8 heap in use, from its /metrics (prom-client's default metrics), right after a
 * full collection (SIGUSR2, GC_ON_SIGNAL): garbage would otherwise count as in use until one runs.
 */
async function heapUsed(nodeUrl: string, pid: number): Promise<number> {
  process.kill(pid, 'SIGUSR2');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const metrics = await (await fetch(`${nodeUrl}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(metrics)?.[1]);
}

/** Waits (up to a minute) until the node holds no warm server instance: every session is idle. */
async function instancesClosed(nodeUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const health = (await (await fetch(`${nodeUrl}/health`)).json()) as { activeSessions: number };
    if (health.activeSessions === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error('the idle sessions kept their server instances past SESSION_WARM_SECONDS');
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2_000));
}

/** The soft "Max open files" limit of a process, from /proc. */
function openFileLimit(pid: string): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 1024);
}
