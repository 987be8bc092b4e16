import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createKeys } from '../../app/store/keys.js';
import type { BenchContext, ScenarioReport } from '../lib/context.js';
import { BENCH_AUTH_HEADERS, type Server, startFleetNode } from '../lib/servers.js';
import { fmt, percentile } from '../lib/stats.js';

const TARGET_P99_MS = 5;
const DELIVERY_TIMEOUT_MS = 2_000;

/**
 * (d) Cross-node notification latency. A client on node B calls `notify_change`; listeners on node
 * A (a 2026 `subscriptions/listen` stream and a 2025 GET stream, both real SDK clients) time the
 * arrival of `notifications/tools/list_changed`. Timed from the moment the call leaves for B, so
 * it includes B's handling of the call: an upper bound on publish → delivery. A second series
 * publishes straight onto the Redis (sharded) channel, which times the bus hop and A's delivery alone.
 */
export async function notify(ctx: BenchContext): Promise<ScenarioReport> {
  const count = ctx.settings.notifications;
  const servers: Server[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const a = await startFleetNode(ctx.entries, ctx.redis.url, { nodeId: 'bench-d-a' });
    servers.push(a);
    const b = await startFleetNode(ctx.entries, ctx.redis.url, { nodeId: 'bench-d-b' });
    servers.push(b);

    let onArrival2026: (() => void) | undefined;
    let onArrival2025: (() => void) | undefined;
    const listener2026 = new ModernClient(
      { name: 'bench-listener', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' } },
    );
    listener2026.setNotificationHandler('notifications/tools/list_changed', () => onArrival2026?.());
    await listener2026.connect(
      new ModernTransport(new URL('/mcp', a.url), { requestInit: { headers: BENCH_AUTH_HEADERS } }),
    );
    const subscription = await listener2026.listen({ toolsListChanged: true });
    closers.push(
      () => subscription.close(),
      () => listener2026.close(),
    );

    const listener2025 = new V1Client({ name: 'bench-listener-2025', version: '1.0.0' });
    listener2025.setNotificationHandler(ToolListChangedNotificationSchema, () => onArrival2025?.());
    await listener2025.connect(
      new V1Transport(new URL('/mcp', a.url), { requestInit: { headers: BENCH_AUTH_HEADERS } }),
    );
    closers.push(() => listener2025.close());

    const publisher = new ModernClient(
      { name: 'bench-publisher', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' } },
    );
    await publisher.connect(
      new ModernTransport(new URL('/mcp', b.url), { requestInit: { headers: BENCH_AUTH_HEADERS } }),
    );
    closers.push(() => publisher.close());
    const redis = ctx.redis.client();
    closers.push(async () => redis.disconnect());
    const eventLog = createKeys('bench:').eventLog();

    const viaTool = { '2026': [] as number[], '2025': [] as number[] };
    const viaRedis: number[] = [];
    let lost = 0;
    const once = async (publish: () => Promise<unknown>, sink2026: number[], sink2025?: number[]) => {
      const started = performance.now();
      const arrived = (sink: number[] | undefined) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            lost++;
            resolve();
          }, DELIVERY_TIMEOUT_MS);
          const done = () => {
            clearTimeout(timer);
            sink?.push(performance.now() - started);
            resolve();
          };
          if (sink === sink2026) onArrival2026 = done;
          else onArrival2025 = done;
        });
      const both = Promise.all([arrived(sink2026), sink2025 ? arrived(sink2025) : Promise.resolve()]);
      await publish();
      await both;
      onArrival2026 = undefined;
      onArrival2025 = undefined;
    };
    const callNotify = () =>
      publisher.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });

    for (let i = 0; i < 10; i++) await once(callNotify, [], []); // warm-up
    lost = 0;
    for (let i = 0; i < count; i++) await once(callNotify, viaTool['2026'], viaTool['2025']);
    for (let i = 0; i < count; i++) {
      const entry = JSON.stringify({ kind: 'event', event: { kind: 'tools_list_changed' } });
      await once(() => redis.xadd(eventLog, '*', 'e', entry), viaRedis);
    }

    const p99 = percentile(viaTool['2026'], 99);
    const p99Legacy = percentile(viaTool['2025'], 99);
    const met = p99 <= TARGET_P99_MS && p99Legacy <= TARGET_P99_MS && lost === 0;
    ctx.log(`(d) 2026 p99 ${fmt(p99, 2)} ms, 2025 p99 ${fmt(p99Legacy, 2)} ms, lost ${lost}`);
    const row = (label: string, values: number[]) =>
      `| ${label} | ${values.length} | ${[50, 90, 99].map((p) => fmt(percentile(values, p), 2)).join(' | ')} |`;
    return {
      id: 'd',
      title: 'Cross-node notification latency (publish on B, delivery on A)',
      target: `p99 ≤ ${TARGET_P99_MS} ms`,
      met,
      headline: `p99 ${fmt(p99, 2)} ms (2026 listen), ${fmt(p99Legacy, 2)} ms (2025 GET stream); ${lost} lost`,
      details: [
        `${count} notifications, one at a time, after 10 for warm-up. Listeners are real SDK clients on node A.`,
        '',
        '| path | delivered | p50 ms | p90 ms | p99 ms |',
        '|---|---:|---:|---:|---:|',
        row('`notify_change` called on B → 2026 `subscriptions/listen` on A', viaTool['2026']),
        row('`notify_change` called on B → 2025 GET stream on A', viaTool['2025']),
        row('XADD to the event log → 2026 listen on A (log hop only)', viaRedis),
        '',
        `Lost (not delivered within ${DELIVERY_TIMEOUT_MS} ms): ${lost}.`,
      ].join('\n'),
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
  }
}
