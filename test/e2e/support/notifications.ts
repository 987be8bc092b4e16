import type { Cluster, Redis } from 'ioredis';
import type { LogEntry } from '../../../app/bus/event-log.js';
import { createKeys } from '../../../app/store/keys.js';
import { connectModernClient } from '../../helpers/clients.js';

/** The SDK's id for a session's standalone GET stream; its event ids are `_GET_stream_<log position>`. */
const GET_STREAM_PREFIX = '_GET_stream_';

/** One `notify_change` call as the publisher saw it. */
export interface Publication {
  seq: number;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  error?: string;
}

/**
 * A 2026 client that publishes a numbered sequence of `tools/list_changed` notifications through
 * the cluster, one call at a time, each on whichever node the ingress picks. The notification
 * itself carries no number: the sequence lives in `publications`, and what each listener
 * received is compared with it by count and by time.
 */
export class ChangePublisher {
  readonly publications: Publication[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  private constructor(private readonly client: Awaited<ReturnType<typeof connectModernClient>>['client']) {}

  static async connect(baseUrl: string): Promise<ChangePublisher> {
    const { client } = await connectModernClient(() => baseUrl, 'change-publisher');
    return new ChangePublisher(client);
  }

  start(intervalMs: number): void {
    this.running = true;
    this.loop = (async () => {
      for (let seq = 1; this.running; seq++) {
        const startedAt = performance.now();
        try {
          const result = await this.client.callTool(
            { name: 'notify_change', arguments: { kind: 'tools_list_changed' } },
            { timeout: 10_000 },
          );
          // A tool error (the log could not take the event) is an answer, but not a publication.
          if (result.isError) throw new Error(JSON.stringify(result.content));
          this.publications.push({ seq, startedAt, endedAt: performance.now(), ok: true });
        } catch (err) {
          const error = (err as Error).message;
          this.publications.push({ seq, startedAt, endedAt: performance.now(), ok: false, error });
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Publications confirmed by the server: each reached the bus. */
  get confirmed(): number {
    return this.publications.filter((p) => p.ok).length;
  }

  /** Every publication attempted; a failed one may or may not have reached the bus. */
  get attempted(): number {
    return this.publications.length;
  }

  /** Publications whose call overlapped [from, to]: the ones a listener without a stream then could miss. */
  overlapping(from: number, to: number): number {
    return this.publications.filter((p) => p.startedAt <= to && p.endedAt >= from).length;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * Whether the node at `nodeUrl` holds the session's standalone GET stream. Which node holds it is
 * invisible to the client behind the ingress; the SDK transport answers a second GET for the same
 * session 409 on the node that holds one. Elsewhere the probe opens a stream, which is closed at
 * once, before anything is published.
 */
export async function holdsGetStream(nodeUrl: string, sessionId: string, protocolVersion: string) {
  const controller = new AbortController();
  const response = await fetch(new URL('/mcp', nodeUrl), {
    headers: {
      accept: 'text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': protocolVersion,
    },
    signal: controller.signal,
  });
  controller.abort();
  if (response.status !== 200 && response.status !== 409) {
    throw new Error(`probing ${nodeUrl} for session ${sessionId} answered HTTP ${response.status}`);
  }
  return response.status === 409;
}

/**
 * The GET-stream event ids of every change the shared event log holds after a stream's event id
 * (its priming event's): what a listener since then must receive, each once.
 */
export async function loggedChangesAfter(redis: Redis | Cluster, keyPrefix: string, eventId: string) {
  const after = eventId.slice(GET_STREAM_PREFIX.length);
  const entries = await redis.xrange(createKeys(keyPrefix).eventLog(), `(${after}`, '+');
  return entries
    .filter(([, fields]) => (JSON.parse(fields[fields.indexOf('e') + 1]!) as LogEntry).kind === 'event')
    .map(([position]) => `${GET_STREAM_PREFIX}${position}`);
}
