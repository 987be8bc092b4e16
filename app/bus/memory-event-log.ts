import type { Logger } from '../logger.js';
import {
  comparePositions,
  type EventLog,
  LOG_START,
  type LogEntry,
  type LogListener,
  LogListeners,
  type LogPosition,
} from './event-log.js';

/**
 * The event log of the embedded single-node mode: the last `maxEntries` entries in process memory,
 * at positions `0-1`, `0-2`, … Listeners hear each entry synchronously inside `append`, in order.
 */
export class MemoryEventLog implements EventLog {
  private readonly entries: Array<[LogPosition, LogEntry]> = [];
  private readonly listeners: LogListeners;
  private sequence = 0;

  constructor(
    private readonly maxEntries: number,
    logger: Logger,
  ) {
    this.listeners = new LogListeners(logger);
  }

  get position(): LogPosition {
    return this.sequence === 0 ? LOG_START : `0-${this.sequence}`;
  }

  async append(entry: LogEntry): Promise<LogPosition> {
    const position = `0-${++this.sequence}`;
    this.entries.push([position, entry]);
    if (this.entries.length > this.maxEntries) this.entries.splice(0, this.entries.length - this.maxEntries);
    this.listeners.deliver(position, entry);
    return position;
  }

  async readAfter(position: LogPosition, count: number): Promise<Array<[LogPosition, LogEntry]>> {
    const first = this.entries.findIndex(([at]) => comparePositions(at, position) > 0);
    return first < 0 ? [] : this.entries.slice(first, first + count);
  }

  onEntry(listener: LogListener): () => void {
    return this.listeners.add(listener);
  }

  problem(): undefined {
    return undefined;
  }

  start(): void {}

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
