import { Resolver } from 'node:dns/promises';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { UpstreamConfig } from './upstreams-config.js';

/** After a failed connect, new sessions avoid an instance this long (pinned ones still try it). */
const DOWN_MS = 5_000;
/** The first resolution of a `dns` upstream may delay the start this long at most. */
const FIRST_RESOLUTION_MS = 2_000;
/** DNS answers that mean "no instance right now" (a headless Service with no ready pod), not "DNS is broken". */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

/** One running copy of an upstream server. */
export interface Instance {
  /** Base URL: origin plus any base path; what pins name. */
  readonly url: string;
  readonly origin: string;
  readonly basePath: string;
  /** Requests in flight and streams open through this node: the load that "least loaded" compares. */
  active: number;
  /** Until when new sessions avoid it, after a connect failed (0: healthy). */
  downUntil: number;
}

/**
 * The instances of one upstream, as this gateway node sees them: the fixed `urls`, or the A
 * records of its `dns` name re-resolved every `refreshSeconds`. The view is local on purpose:
 * routing reads only memory, so no request waits on DNS or Redis.
 */
export class InstancePool {
  private instances = new Map<string, Instance>();
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly upstream: UpstreamConfig,
    private readonly deps: { logger: Logger; metrics: GatewayMetrics; dnsServers: string[] | undefined },
  ) {
    if (upstream.source.kind === 'urls') this.replace(upstream.source.urls);
  }

  /** Resolves a `dns` upstream once (bounded) and keeps resolving it in the background. */
  async start(): Promise<void> {
    const source = this.upstream.source;
    if (source.kind !== 'dns') return;
    // A resolver of its own: `setServers` must not change the process's other lookups.
    const resolver = new Resolver({ timeout: 1_000, tries: 2 });
    if (this.deps.dnsServers) resolver.setServers(this.deps.dnsServers);
    const resolve = async () => {
      try {
        const addresses = await resolver.resolve4(source.hostname);
        this.replace(addresses.map((ip) => `${source.scheme}://${ip}:${source.port}${source.basePath}`));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (NO_RECORDS.has(code)) {
          this.replace([]);
          return;
        }
        // A resolver failure says nothing about the instances: keep the last answer.
        this.deps.metrics.dnsFailures.inc({ upstream: this.upstream.name });
        this.deps.logger.warn(
          { upstream: this.upstream.name, dns: source.hostname, err: (err as Error).message },
          'could not resolve upstream instances; keeping the last answer',
        );
      }
    };
    const first = resolve();
    await Promise.race([first, new Promise((done) => setTimeout(done, FIRST_RESOLUTION_MS).unref())]);
    const refresh = async () => {
      await resolve();
      if (this.timer) this.timer = setTimeout(refresh, source.refreshSeconds * 1000).unref();
    };
    this.timer = setTimeout(() => void first.then(refresh), source.refreshSeconds * 1000).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.instances.size;
  }

  /** The instance a pin names, if it is still one of this upstream's. */
  get(url: string): Instance | undefined {
    return this.instances.get(url);
  }

  /**
   * The healthy instance with the fewest requests and streams in flight here; ties go round
   * robin, so idle sessions spread evenly. If every instance failed lately, the one that failed
   * longest ago is tried: it may be back.
   */
  pickLeastLoaded(exclude: ReadonlySet<string> = new Set()): Instance | undefined {
    const list = [...this.instances.values()].filter((instance) => !exclude.has(instance.url));
    if (list.length === 0) return undefined;
    const now = Date.now();
    const start = this.cursor++ % list.length;
    let best: Instance | undefined;
    for (let i = 0; i < list.length; i++) {
      const candidate = list[(start + i) % list.length] as Instance;
      if (candidate.downUntil > now) continue;
      if (!best || candidate.active < best.active) best = candidate;
    }
    return best ?? list.reduce((a, b) => (b.downUntil < a.downUntil ? b : a));
  }

  markDown(instance: Instance): void {
    instance.downUntil = Date.now() + DOWN_MS;
    this.deps.metrics.instanceUp.set({ upstream: this.upstream.name, instance: instance.url }, 0);
  }

  markUp(instance: Instance): void {
    if (instance.downUntil === 0) return;
    instance.downUntil = 0;
    this.deps.metrics.instanceUp.set({ upstream: this.upstream.name, instance: instance.url }, 1);
  }

  private replace(urls: string[]): void {
    const next = new Map<string, Instance>();
    for (const url of urls) {
      const existing = this.instances.get(url);
      if (existing) {
        next.set(url, existing);
        continue;
      }
      const parsed = new URL(url);
      next.set(url, {
        url,
        origin: parsed.origin,
        basePath: parsed.pathname.replace(/\/$/, ''),
        active: 0,
        downUntil: 0,
      });
      this.deps.metrics.instanceUp.set({ upstream: this.upstream.name, instance: url }, 1);
    }
    const added = [...next.keys()].filter((url) => !this.instances.has(url));
    const removed = [...this.instances.keys()].filter((url) => !next.has(url));
    for (const url of removed)
      this.deps.metrics.instanceUp.remove({ upstream: this.upstream.name, instance: url });
    this.instances = next;
    this.deps.metrics.instances.set({ upstream: this.upstream.name }, next.size);
    if (added.length > 0 || removed.length > 0) {
      this.deps.logger.info(
        { upstream: this.upstream.name, instances: [...next.keys()], added, removed },
        'upstream instances changed',
      );
    }
  }
}
