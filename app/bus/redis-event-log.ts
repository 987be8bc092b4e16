import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { type RedisClient, waitUntilReady } from '../store/redis-connection.js';
import {
  type EventLog,
  LOG_START,
  type LogEntry,
  type LogListener,
  LogListeners,
  type LogPosition,
} from './event-log.js';

/** How long one XREAD waits for new entries: under the connection's 2 s command timeout. */
const BLOCK_MS = 1_000;
/** Entries read at once; a reader that fell behind catches up in batches of this. */
const READ_BATCH = 1_000;
/** The reader must get an answer (entries, or an empty block) at least this often to be ready. */
const STALE_AFTER_MS = 5_000;
const RETRY_MS = 250;
/** How often a standalone reader checks that it still reads the primary (after a failover, see run). */
const ROLE_CHECK_MS = 5_000;

/**
 * The shared event log on a Redis Stream (`{prefix}{events}:log`, one key, so one hash slot on a
 * cluster), capped at about `maxEntries` (`XADD … MAXLEN ~`; about 150 bytes an entry).
 *
 * Each node reads it with `XREAD BLOCK` from the position of the last entry it delivered, on a
 * connection of its own (a blocked connection can run nothing else). XREAD wakes as soon as an
 * entry is added, so delivery costs no more than pub/sub did; and unlike pub/sub, a node whose
 * connection broke (a reconnect, a failover) reads on from where it stopped. Pub/sub is not used
 * for events at all: the blocking read is its own doorbell.
 *
 * Chosen over a library: no Node library offers a multi-reader Redis Stream tail with a cursor per
 * reader and no consumer group (every node must read every entry; a group would share them out).
 */
export class RedisEventLog implements EventLog {
  private readonly listeners: LogListeners;
  private last: LogPosition | undefined;
  private lastAnswerAt = 0;
  private closed = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      /** Appends and replays run here. */
      redis: RedisClient;
      /** The reader's own connection. */
      reader: RedisClient;
      key: string;
      maxEntries: number;
      logger: Logger;
    },
  ) {
    this.listeners = new LogListeners(deps.logger);
  }

  get position(): LogPosition | undefined {
    return this.last;
  }

  async append(entry: LogEntry): Promise<LogPosition> {
    const position = await this.deps.redis.xadd(
      this.deps.key,
      'MAXLEN',
      '~',
      this.deps.maxEntries,
      '*',
      'e',
      JSON.stringify(entry),
    );
    return position as LogPosition;
  }

  async readAfter(position: LogPosition, count: number): Promise<Array<[LogPosition, LogEntry]>> {
    const entries = await this.deps.redis.xrange(this.deps.key, `(${position}`, '+', 'COUNT', count);
    return parseEntries(entries, this.deps.logger);
  }

  onEntry(listener: LogListener): () => void {
    return this.listeners.add(listener);
  }

  problem(): string | undefined {
    if (this.last === undefined) return 'not reading yet';
    const silentMs = Date.now() - this.lastAnswerAt;
    return silentMs > STALE_AFTER_MS ? `no answer for ${Math.round(silentMs / 1000)} s` : undefined;
  }

  /** Reads until `close`, retrying through outages (a node may start while Redis is down). */
  start(): void {
    this.running ??= this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deps.reader.disconnect();
    await this.running;
    this.listeners.clear();
  }

  private async run(): Promise<void> {
    const { reader, key, logger } = this.deps;
    let failing = false;
    let roleCheckedAt = Date.now();
    while (!this.closed) {
      try {
        if (reader.status !== 'ready' && !(await waitUntilReady(reader, BLOCK_MS))) continue;
        // XREAD is a read: a connection left on a demoted primary after a failover gets no READONLY
        // to reconnect on, and would read replicated entries only while replication lasts. So it
        // checks its server's role and moves (the endpoint names the new primary) as the
        // subscriber does. A cluster client follows the slots itself.
        if (reader instanceof Redis && Date.now() - roleCheckedAt > ROLE_CHECK_MS) {
          roleCheckedAt = Date.now();
          const [role] = (await reader.call('ROLE')) as [string];
          if (role !== 'master') {
            logger.warn({ role }, 'event log: reading a replica; reconnecting to the primary');
            reader.disconnect(true);
            continue;
          }
        }
        // Where the log ends now: a node starts with the entries added after it came up.
        if (this.last === undefined) {
          const [newest] = await reader.xrevrange(key, '+', '-', 'COUNT', 1);
          this.last = newest?.[0] ?? LOG_START;
          // An answer too: a new node is ready now, not when its first blocking read times out.
          this.lastAnswerAt = Date.now();
        }
        const reply = (await reader.xread(
          'COUNT',
          READ_BATCH,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          key,
          this.last,
        )) as Array<[string, Array<[string, string[]]>]> | null;
        this.lastAnswerAt = Date.now();
        if (failing) logger.info({ position: this.last }, 'event log: reading again');
        failing = false;
        for (const [, entries] of reply ?? []) {
          for (const [position, entry] of parseEntries(entries, logger)) {
            this.last = position;
            this.listeners.deliver(position, entry);
          }
          // A malformed entry is skipped, never read again.
          const newest = entries.at(-1)?.[0];
          if (newest !== undefined) this.last = newest;
        }
      } catch (err) {
        if (this.closed) break;
        if (!failing) logger.warn({ err: (err as Error).message }, 'event log: read failed; retrying');
        failing = true;
        await sleep(RETRY_MS);
      }
    }
  }
}

function parseEntries(entries: Array<[string, string[]]>, logger: Logger): Array<[LogPosition, LogEntry]> {
  const parsed: Array<[LogPosition, LogEntry]> = [];
  for (const [position, fields] of entries) {
    const at = fields.indexOf('e');
    try {
      parsed.push([position, JSON.parse(at < 0 ? '' : (fields[at + 1] ?? '')) as LogEntry]);
    } catch {
      logger.warn({ position }, 'event log: skipped a malformed entry');
    }
  }
  return parsed;
}
