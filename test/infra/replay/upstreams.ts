import { randomInt } from 'node:crypto';
import { expect } from 'vitest';
import { parseUpstreams } from '../../../app/gateway/upstreams-config.js';
import { parseConfig } from '../../../infra/config.js';
import { startDnsServer, type TestDnsServer } from '../../helpers/dns-server.js';
import { type EverythingMode, startEverything, type Upstream } from '../../helpers/upstreams.js';
import {
  containerArgv,
  nodeMainModule,
  scriptArguments,
  startedProcess,
} from '../outcome/container-start.js';
import { type ResourceGraph, T } from '../outcome/graph.js';
import { ecsContainer, type PlatformContainer, podContainer } from './environment.js';

/**
 * The upstreams of a replayed app: the third-party server's replicas, started as the captured task
 * definition or pod spec starts its container, behind a DNS server that answers the name in the
 * app's UPSTREAMS the way Cloud Map or cluster DNS does, with one address per replica.
 *
 * What differs from the platform, and why:
 * - the replicas are the reference server pinned in test/tools (`@modelcontextprotocol/server-everything`),
 *   not the digest the stack pins (no image can be pulled here). The stack's argv selects which of
 *   its transports runs, and the same transport is started here: the pinned image ships it as
 *   `dist/streamableHttp.js`, the test tools' build as `dist/index.js streamableHttp`;
 * - each replica listens on a loopback address of its own (127.x.y.z) and the captured PORT, as tasks
 *   and pods each have their own address and share the container port;
 * - `UPSTREAM_DNS_SERVERS` points the app at the local DNS server; on the platform it is unset and the
 *   VPC resolver or kube-dns answers (the checks assert it is unset in the captured environment).
 */

/** Which transport of the reference server a started process runs, in either layout of its dist/. */
export function everythingMode(process: string[]): EverythingMode {
  const script = nodeMainModule(process);
  const [argument] = scriptArguments(process);
  if (script === 'dist/streamableHttp.js') return 'streamableHttp';
  if (script === 'dist/sse.js') return 'sse';
  if (script === 'dist/index.js' && (argument === 'streamableHttp' || argument === 'sse')) return argument;
  throw new Error(
    `the stack starts \`${process.join(' ')}\`: that is the reference server's stdio transport (or no server of it), which serves nothing over HTTP`,
  );
}

export interface ReplayedUpstream {
  name: string;
  /** The name the app resolves, from its captured UPSTREAMS. */
  hostname: string;
  mode: EverythingMode;
  container: PlatformContainer;
  replicas: Upstream[];
  dns: TestDnsServer;
  close(): Promise<void>;
}

/** Distinct loopback addresses outside 127.0.0.0/16, so replicas never meet another test's servers. */
function loopbackAddresses(count: number): string[] {
  const second = randomInt(16, 250);
  const third = randomInt(1, 250);
  return Array.from({ length: count }, (_, index) => `127.${second}.${third}.${10 + index}`);
}

/**
 * Starts `count` replicas of upstream `name` as the captured program starts its container, and a DNS
 * server answering the app's UPSTREAMS name for it with their addresses.
 */
export async function startUpstream(
  graph: ResourceGraph,
  platform: 'ecs' | 'eks',
  stackConfig: Record<string, unknown>,
  appEnv: Record<string, string>,
  name: string,
  count = 2,
): Promise<ReplayedUpstream> {
  const { upstreams, problems } = parseUpstreams(appEnv.UPSTREAMS, appEnv);
  expect(problems).toEqual([]);
  const source = upstreams.find((upstream) => upstream.name === name)?.source;
  if (source?.kind !== 'dns') throw new Error(`the app's UPSTREAMS has no dns upstream ${name}`);
  const container =
    platform === 'ecs'
      ? ecsContainer(graph, graph.find(T.ecsService, `${name}-service`)!, name)
      : podContainer(
          graph,
          graph.find(T.deployment, `${name}-deployment`)!,
          name,
          `${name}-7c9d5b8f6d-a1b2c`,
        );
  const imageConfig = parseConfig(stackConfig).servers[name]?.imageConfig;
  if (!imageConfig) throw new Error(`servers.${name}: declare imageConfig so its start can be replayed`);
  const mode = everythingMode(startedProcess(containerArgv(imageConfig, container.overrides)));
  const port = Number(container.env.PORT);
  // The gateway dials the port in UPSTREAMS; the replicas listen where the container is told to.
  expect(port).toBe(source.port);
  const addresses = loopbackAddresses(count);
  const dns = await startDnsServer();
  const replicas: Upstream[] = [];
  try {
    for (const [index, host] of addresses.entries()) {
      replicas.push(await startEverything(mode, `${name}-${index + 1}`, { host, port, env: container.env }));
    }
  } catch (err) {
    await Promise.all(replicas.map((replica) => replica.kill()));
    await dns.close();
    throw err;
  }
  dns.setRecords(source.hostname, addresses);
  return {
    name,
    hostname: source.hostname,
    mode,
    container,
    replicas,
    dns,
    async close() {
      await Promise.all(replicas.map((replica) => replica.kill()));
      await dns.close();
    },
  };
}
