import type { JSONRPCMessage, ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';

/**
 * What the shared event log carries. Every node reads every entry, in the one order the log gives.
 * - `event`: a change for every client (a tool list changed, a resource was updated).
 * - `message`: a server→client message for one 2025-era session's standalone GET stream, written
 *   by whichever node's server instance sent it and delivered by whichever node holds the stream.
 * - `ended`: the session was deleted (DELETE): every node drops its instance and closes its streams.
 */
export type LogEntry =
  | { kind: 'event'; event: ServerEvent }
  | { kind: 'message'; sessionId: string; message: JSONRPCMessage }
  | { kind: 'ended'; sessionId: string };

/** A position in the log: a Redis Stream entry id, `<ms>-<seq>` (the embedded log uses `0-<seq>`). */
export type LogPosition = string;

/** Before every entry. */
export const LOG_START: LogPosition = '0-0';

export type LogListener = (position: LogPosition, entry: LogEntry) => void;

/**
 * The durable, ordered, shared log of server→client events: written once per event, read by every
 * node from its own cursor, and kept for a bounded length, so that
 * - a node whose connection to Redis broke reads on from where it stopped: a gap costs time, not
 *   events (Redis pub/sub would have dropped them);
 * - a 2025-era client that resumes its GET stream with `Last-Event-ID` on any node is sent every
 *   entry for it after that position, exactly once, including the ones published while no node
 *   held its stream (its event ids are log positions: app/sessions/get-streams.ts).
 */
export interface EventLog {
  /** Appends an entry; resolves to its position once the log holds it. */
  append(entry: LogEntry): Promise<LogPosition>;
  /** Up to `count` entries after `position`, oldest first. */
  readAfter(position: LogPosition, count: number): Promise<Array<[LogPosition, LogEntry]>>;
  /**
   * Live entries, in log order, each once, from the moment `start` was called. Listeners are called
   * synchronously one entry at a time, so an entry's listeners all run before the next entry's.
   */
  onEntry(listener: LogListener): () => void;
  /**
   * The position of the last entry delivered to the listeners: a stream opened now is sent exactly
   * the entries delivered after it. Undefined until the reader knows where the log ends.
   */
  readonly position: LogPosition | undefined;
  /** Why the reader is not keeping up now (for `/ready`); undefined while it is. */
  problem(): string | undefined;
  start(): void;
  close(): Promise<void>;
}

/** Orders two positions: negative when `a` is before `b`. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  const msA = Number(a.slice(0, dashA));
  const msB = Number(b.slice(0, dashB));
  if (msA !== msB) return msA < msB ? -1 : 1;
  const seqA = Number(a.slice(dashA + 1));
  const seqB = Number(b.slice(dashB + 1));
  return seqA === seqB ? 0 : seqA < seqB ? -1 : 1;
}

/**
 * The SDK's ServerEventBus (2026 `subscriptions/listen` streams, the notify_change tool, 2024
 * streams) over the log: publishing appends, and every node's listeners hear it from the log.
 * Events are delivered only through the log, never locally inside `publish`: one path, one order.
 */
export class EventLogBus implements ServerEventBus {
  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {}

  publish(event: ServerEvent): void {
    this.append(event).catch((err: Error) => {
      this.logger.warn({ err: err.message, event: event.kind }, 'could not publish a server event');
    });
  }

  /** Publishes and resolves once the log holds the event: a caller told "published" can rely on it. */
  append(event: ServerEvent): Promise<LogPosition> {
    return this.log.append({ kind: 'event', event });
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    return this.log.onEntry((_position, entry) => {
      if (entry.kind === 'event') listener(entry.event);
    });
  }
}

/**
 * The listeners of one log. Each entry goes to every listener, one entry at a time; a listener that
 * throws is logged and the others still hear the entry.
 */
export class LogListeners {
  private readonly listeners = new Set<LogListener>();

  constructor(private readonly logger: Logger) {}

  /** Adds a listener; returns what removes it. */
  add(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  deliver(position: LogPosition, entry: LogEntry): void {
    for (const listener of this.listeners) {
      try {
        listener(position, entry);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, entry: entry.kind }, 'an event log listener failed');
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
