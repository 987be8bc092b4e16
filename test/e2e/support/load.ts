import type { EraClient, EraName } from './era-clients.js';
import { httpStatusInMessage } from './sse-era-client.js';

/** One call as the client saw it: when it started and ended, and how. */
export interface CallRecord {
  era: EraName;
  client: string;
  startedAt: number;
  endedAt: number;
  outcome: 'ok' | 'failed' | 'lost';
  error?: string;
  /** The HTTP status of a failed call, when the client reports one. */
  httpStatus?: number;
  /** The client moved its event stream to another node during this call (2024 era). */
  reconnected: boolean;
}

/**
 * What a scenario prints and asserts, per era:
 * - `sent`: calls the clients started;
 * - `ok`: answered with the right result;
 * - `failed`: the client got an error (an HTTP error status, a dropped connection, a JSON-RPC error);
 * - `lost`: no answer at all within the call timeout: the outcome a client cannot act on.
 */
export interface Counts {
  sent: number;
  ok: number;
  failed: number;
  lost: number;
  /** Of `ok`: calls that succeeded only after the client reconnected its stream (2024 era). */
  okAfterReconnect: number;
}

/**
 * Runs every client in a loop of sequential `echo` calls (unique text, checked on return) until
 * stopped. Bounded: each call has a timeout and the loops end when `stop()` is called.
 */
export class EchoLoad {
  readonly records: CallRecord[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly clients: EraClient[],
    private readonly callTimeoutMs = 10_000,
  ) {}

  start(): void {
    this.running = true;
    this.loops = this.clients.map((client) => this.loop(client));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Counts per era, optionally only for calls that match `filter`. */
  counts(era: EraName, filter: (record: CallRecord) => boolean = () => true): Counts {
    const records = this.records.filter((r) => r.era === era && filter(r));
    return {
      sent: records.length,
      ok: records.filter((r) => r.outcome === 'ok').length,
      failed: records.filter((r) => r.outcome === 'failed').length,
      lost: records.filter((r) => r.outcome === 'lost').length,
      okAfterReconnect: records.filter((r) => r.outcome === 'ok' && r.reconnected).length,
    };
  }

  /** Failures grouped by what the client saw: HTTP status and the server's reason, or the error. */
  failureReasons(era: EraName, filter: (record: CallRecord) => boolean = () => true): Record<string, number> {
    const tally: Record<string, number> = {};
    for (const record of this.failures(era).filter(filter)) {
      const reason = /"reason":"([a-z_]+)"/.exec(record.error ?? '')?.[1] ?? record.error?.slice(0, 80);
      const key = `${record.httpStatus ? `HTTP ${record.httpStatus} ` : ''}${reason}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    return tally;
  }

  failures(era: EraName): CallRecord[] {
    return this.records.filter((r) => r.era === era && r.outcome !== 'ok');
  }

  private async loop(client: EraClient): Promise<void> {
    let n = 0;
    while (this.running) {
      const text = `${client.name}#${n++}`;
      const startedAt = performance.now();
      const reconnectsBefore = client.reconnects();
      let outcome: CallRecord['outcome'] = 'failed';
      let error: string | undefined;
      let httpStatus: number | undefined;
      try {
        const echoed = await client.echo(text, this.callTimeoutMs);
        if (echoed === text) outcome = 'ok';
        else error = `echoed ${JSON.stringify(echoed)} instead of ${JSON.stringify(text)}`;
      } catch (err) {
        // The HTTP status is in `status` (v2 client), `code` (v1 Streamable HTTP) or only in the
        // message (v1 SSE transport).
        const { code, status, message } = err as { code?: unknown; status?: unknown; message: string };
        httpStatus =
          typeof status === 'number'
            ? status
            : typeof code === 'number' && code >= 100 && code < 600
              ? code
              : httpStatusInMessage(err);
        error = message;
        // Lost: the client's own timeout, no answer at all. An HTTP answer (a 503 `relay_timeout`) is a failure.
        if (httpStatus === undefined && /timed? ?out/i.test(error)) outcome = 'lost';
      }
      this.records.push({
        era: client.era,
        client: client.name,
        startedAt,
        endedAt: performance.now(),
        outcome,
        error,
        httpStatus,
        reconnected: client.reconnects() !== reconnectsBefore,
      });
      // A failing client does not spin: real clients back off too.
      if (outcome !== 'ok') await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export function formatCounts(scenario: string, era: EraName, counts: Counts): string {
  const moved =
    counts.okAfterReconnect > 0 ? ` (ok after reconnecting the stream: ${counts.okAfterReconnect})` : '';
  return `[${scenario}] ${era}: sent=${counts.sent} ok=${counts.ok} failed=${counts.failed} lost=${counts.lost}${moved}`;
}
