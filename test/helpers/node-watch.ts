import { postInitialize } from './raw-streamable.js';

/**
 * What a load balancer and a brand-new client see of each node during a fault: every node's
 * `/ready`, polled, and a raw 2025-era `initialize` sent to each node in turn. Bounded: it runs
 * until `stop()`, one request at a time per loop.
 */
export interface ReadySample {
  node: string;
  at: number;
  status: number;
  reason?: string;
}

export interface InitializeSample {
  node: string;
  at: number;
  status: number;
  retryAfter: string | null;
  sessionId: string | null;
  body: unknown;
}

export class NodeWatch {
  readonly ready: ReadySample[] = [];
  readonly initializes: InitializeSample[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly nodes: { nodeId: string; url: string }[],
    private readonly intervalMs = 100,
  ) {}

  /** Two loops, so that an initialize waiting on Redis never delays the readiness samples. */
  start(): void {
    this.running = true;
    this.loops = [this.pollReady(), this.sendInitializes()];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** The samples of one node's `/ready` after `since`. */
  readyOf(node: string, since = 0): ReadySample[] {
    return this.ready.filter((s) => s.node === node && s.at >= since);
  }

  private async pollReady(): Promise<void> {
    while (this.running) {
      for (const node of this.nodes) {
        const at = performance.now();
        const ready = await fetch(new URL('/ready', node.url)).catch(() => undefined);
        if (ready) {
          const body = (await ready.json().catch(() => ({}))) as { reason?: string };
          this.ready.push({ node: node.nodeId, at, status: ready.status, reason: body.reason });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }

  /** An initialize to each node in turn, five times less often: new clients arriving mid-fault. */
  private async sendInitializes(): Promise<void> {
    for (let turn = 0; this.running; turn++) {
      const node = this.nodes[turn % this.nodes.length];
      if (node) await this.initialize(node);
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs * 5));
    }
  }

  private async initialize(node: { nodeId: string; url: string }): Promise<void> {
    const at = performance.now();
    const response = await postInitialize(node.url, { clientName: 'node-watch' }).catch(() => undefined);
    if (!response) return;
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // An event stream (a 200): the session was created; its body is not needed.
    }
    this.initializes.push({
      node: node.nodeId,
      at,
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      sessionId: response.headers.get('mcp-session-id'),
      body,
    });
  }
}
