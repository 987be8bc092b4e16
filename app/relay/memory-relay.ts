import {
  type NodeRelay,
  type RelayEnvelope,
  type RelayHandler,
  RelayHandlers,
  type RelayOutcome,
} from './node-relay.js';

/** The embedded mode has one node: every address but its own is unreachable. */
export class MemoryNodeRelay implements NodeRelay {
  readonly address = 'embedded';
  private readonly handlers = new RelayHandlers();

  async start(): Promise<void> {}
  async close(): Promise<void> {}

  onEnvelope(kind: RelayEnvelope['kind'], handler: RelayHandler): void {
    this.handlers.register(kind, handler);
  }

  async isAlive(address: string): Promise<boolean> {
    return address === this.address;
  }

  async send(address: string, envelope: RelayEnvelope): Promise<RelayOutcome> {
    if (address !== this.address) return 'unreachable';
    return this.handlers.dispatch(envelope);
  }
}
