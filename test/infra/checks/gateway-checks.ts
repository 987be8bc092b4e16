import { beforeAll, describe, expect, it } from 'vitest';
import { parseUpstreams, type UpstreamConfig } from '../../../app/gateway/upstreams-config.js';
import { promiseOf } from '../harness.js';
import { resolveCloudMap, resolveClusterDns } from '../outcome/discovery.js';
import { type EcsServer, type EcsTopology, ecsTopology } from '../outcome/ecs-topology.js';
import type { EksServer, EksTopology } from '../outcome/eks-topology.js';
import { label, type ResourceGraph, T } from '../outcome/graph.js';
import { albDecision, ingressBackend } from '../outcome/http-routing.js';
import { connect, type Endpoint } from '../outcome/reachability.js';
import type { ExternalGroup } from '../outcome/security-groups.js';
import { topologyOf } from './eks-network.js';
import { type Captured, REGION, type StackRuns } from './runs.js';
import { HTTP_ENDPOINT } from './start-checks.js';
import { expectOpen, expectRefused } from './verdicts.js';

/**
 * Issue 13, deliverable 5: third-party servers are reached only through the app's gateway. From the
 * captured program: the app's UPSTREAMS (read with the app's own parser), what its DNS names resolve
 * to, which connections open, and what the edge routes. Each upstream must be reachable from every
 * app task or pod, as one instance per task or pod, and from nothing else.
 */

// biome-ignore lint/suspicious/noExplicitAny: a container as registered (ECS definition or pod spec).
type Container = any;

/** The app's UPSTREAMS as the app parses it at start, with the header secrets it would read. */
function upstreamsOf(env: Record<string, string>): UpstreamConfig[] {
  const secrets = new Proxy({}, { get: () => 'stand-in' }) as NodeJS.ProcessEnv;
  const { upstreams, problems } = parseUpstreams(env.UPSTREAMS, { ...secrets, ...env });
  expect(problems).toEqual([]);
  return upstreams;
}

/** Third-party servers with no route of their own: what the app must front. */
function expectedUpstreams(captured: Captured): string[] {
  return Object.entries(captured.config.servers)
    .filter(([, server]) => server.image !== undefined && server.ingress === undefined)
    .map(([name]) => name)
    .sort();
}

function dnsOf(upstream: UpstreamConfig): { hostname: string; port: number; basePath: string } {
  if (upstream.source.kind !== 'dns')
    throw new Error(`${upstream.name}: expected a dns upstream, got fixed URLs`);
  return upstream.source;
}

/**
 * Where `/servers/<name>/<rest>` ends up on the instance (the gateway's mapping, docs/gateway.md),
 * against where the upstream's own process serves MCP (start-checks: HTTP_ENDPOINT).
 */
function expectServedPath(captured: Captured, upstream: UpstreamConfig, publicUrl: string): void {
  const prefix = `/servers/${upstream.name}/`;
  const path = new URL(publicUrl).pathname;
  expect(path, 'the public URL of a gateway server').toContain(prefix);
  const rest = path.slice(path.indexOf(prefix) + prefix.length - 1);
  const served = HTTP_ENDPOINT[upstream.name] ?? captured.config.servers[upstream.name]?.mcpPath;
  expect(`${dnsOf(upstream).basePath}${rest}`).toBe(served);
}

/** The most instances a workload may run: its autoscaling maximum, else its fixed count. */
function mostEcsTasks(graph: ResourceGraph, service: EcsServer['service']): number {
  const target = graph
    .ofType('aws:appautoscaling/target:Target')
    .find((candidate) => String(candidate.inputs.resourceId).endsWith(`/${service.state.name}`));
  return Number(target?.inputs.maxCapacity ?? service.inputs.desiredCount);
}

function mostPods(graph: ResourceGraph, server: EksServer): number {
  const hpa = graph
    .ofType('kubernetes:autoscaling/v2:HorizontalPodAutoscaler')
    .find(
      (candidate) =>
        candidate.inputs.metadata?.namespace === server.pod.pod?.namespace &&
        candidate.inputs.spec?.scaleTargetRef?.name === server.deployment.inputs.metadata?.name,
    );
  return Number(hpa?.inputs.spec?.maxReplicas ?? server.deployment.inputs.spec?.replicas ?? 1);
}

const ecsEnv = (server: EcsServer): Record<string, string> => {
  const container: Container = server.containers.find((candidate) => candidate.name === server.name);
  return Object.fromEntries(
    (container.environment ?? []).map((variable: { name: string; value: string }) => [
      variable.name,
      variable.value,
    ]),
  );
};

const podEnv = (server: EksServer): Record<string, string> => {
  const container: Container =
    server.containers.find((candidate: Container) => candidate.name === server.name) ?? server.containers[0];
  return Object.fromEntries(
    (container.env ?? [])
      .filter((variable: { value?: string }) => variable.value !== undefined)
      .map((variable: { name: string; value: string }) => [variable.name, variable.value]),
  );
};

const containerPortOf = (containers: Container[], name: string, platform: 'ecs' | 'eks'): number => {
  const container = containers.find((candidate) => candidate.name === name) ?? containers[0];
  return platform === 'ecs' ? container.portMappings[0].containerPort : container.ports[0].containerPort;
};

export function describeEcsGateway(runs: () => StackRuns): void {
  describe('ECS gateway outcomes (issue 13)', () => {
    let base: Captured;
    let topology: EcsTopology;
    let app: EcsServer;
    let upstreams: UpstreamConfig[];
    beforeAll(() => {
      base = runs().base;
      topology = ecsTopology(base.graph, REGION);
      app = [...topology.servers.values()].find(
        (server) => base.config.servers[server.name]?.build === 'app',
      )!;
      upstreams = upstreamsOf(ecsEnv(app));
    });
    const upstreamTasks = (name: string) => topology.servers.get(name) as EcsServer;

    it("the app's UPSTREAMS names every third-party server without a route of its own, each found by DNS", () => {
      expect(upstreams.map((upstream) => upstream.name).sort()).toEqual(expectedUpstreams(base));
      expect(upstreams.length).toBeGreaterThan(0);
      for (const upstream of upstreams) dnsOf(upstream);
    });

    it('each upstream name resolves, from the app tasks, to one A record per task of that server, and every app task reaches every one of them on the UPSTREAMS port', () => {
      const vpcId = base.graph.byRef(T.subnet, app.task.eni!.subnetId)!.inputs.vpcId;
      for (const upstream of upstreams) {
        const { hostname, port } = dnsOf(upstream);
        const answer = resolveCloudMap(base.graph, hostname, vpcId);
        expect(answer.ok ? 'resolves' : answer.reason).toBe('resolves');
        if (!answer.ok) continue;
        const target = upstreamTasks(upstream.name);
        expect(label(answer.workload)).toBe(label(target.service));
        expect(answer.records).toBe('per-instance');
        // Every task fits in one answer, or sessions on the tasks left out would get 404.
        expect(mostEcsTasks(base.graph, target.service)).toBeLessThanOrEqual(answer.maxRecords);
        expect(port).toBe(containerPortOf(target.containers, target.name, 'ecs'));
        for (const from of app.tasks)
          for (const to of target.tasks) expectOpen(connect(topology.model, from, to, port));
      }
    });

    it('the internet reaches no third-party task: no listener rule or default action forwards to it, and a direct connection is refused', () => {
      for (const upstream of upstreams) {
        const target = upstreamTasks(upstream.name);
        expect(target.service.inputs.loadBalancers ?? []).toEqual([]);
        const port = dnsOf(upstream).port;
        for (const task of target.tasks) {
          expectRefused(
            connect(topology.model, topology.internet, task, port),
            `internet → ${upstream.name}`,
          );
          expectRefused(connect(topology.model, topology.alb.endpoint, task, port), `ALB → ${upstream.name}`);
        }
        // Whatever host and path a client sends, the ALB forwards only to target groups of public servers.
        const hosts = [
          topology.alb.resource.state.dnsName,
          `${upstream.name}.${base.config.domain ?? 'example.com'}`,
        ];
        for (const listener of topology.alb.listeners) {
          for (const host of hosts) {
            for (const path of [`/${upstream.name}/mcp`, '/mcp', `/servers/${upstream.name}/mcp`, '/']) {
              const decision = albDecision(base.graph, listener, { host, path });
              if (decision.kind !== 'forward') continue;
              const bound = base.graph
                .ofType(T.ecsService)
                .filter((service) =>
                  (service.inputs.loadBalancers ?? []).some(
                    (binding: { targetGroupArn: string }) =>
                      binding.targetGroupArn === decision.targetGroup.state.arn,
                  ),
                );
              expect(bound.map(label)).not.toContain(label(target.service));
            }
          }
        }
      }
    });

    it("no other workload reaches a third-party server: the tasks of another server, and a VPC workload whose own group lets everything out, are refused by the server's group", () => {
      // churnAdded runs a second third-party server (stateless, with a route of its own) next to them.
      const added = ecsTopology(runs().churnAdded.graph, REGION);
      const others = [...added.servers.values()].filter(
        (server) =>
          runs().churnAdded.config.servers[server.name]?.build !== 'app' &&
          !upstreams.some((upstream) => upstream.name === server.name),
      );
      expect(others.length).toBeGreaterThan(0);
      // Any other workload in the VPC (a bastion, a Lambda, a task of another stack), its egress wide open:
      // only the upstream's own inbound rules stand in the way.
      const open: ExternalGroup = {
        id: 'sg-other-workload',
        name: 'another workload',
        rules: [
          {
            direction: 'egress',
            protocol: '-1',
            fromPort: 0,
            toPort: 65535,
            cidr: '0.0.0.0/0',
            origin: 'all out',
          },
        ],
      };
      const model = { ...added.model, externalGroups: [...added.model.externalGroups, open] };
      const stranger: Endpoint = {
        name: 'another workload in the VPC',
        eni: {
          ...(app.task.eni as NonNullable<Endpoint['eni']>),
          ip: app.task.eni!.ip.replace(/\d+$/, '200'),
          securityGroupIds: [open.id],
        },
      };
      for (const upstream of upstreams) {
        const target = added.servers.get(upstream.name) as EcsServer;
        const port = dnsOf(upstream).port;
        for (const from of [...others.map((other) => other.task), stranger]) {
          expectRefused(connect(model, from, target.task, port), `${from.name} → ${upstream.name}`);
        }
      }
      // The same workload does reach what admits it (the ALB's listener): the refusals above are the
      // upstream's inbound rules, not the sender's.
      expectOpen(connect(model, stranger, added.alb.endpoint, 80));
    });

    it("each gateway URL in serverUrls reaches the app through the ALB, and maps to the path the upstream's process serves", async () => {
      const urls = (await promiseOf(base.run.outputs.serverUrls)) as Record<string, string>;
      for (const upstream of upstreams) {
        const url = new URL(urls[upstream.name] as string);
        expect(url.protocol).toBe(base.config.domain ? 'https:' : 'http:');
        for (const listener of topology.alb.listeners.filter(
          (candidate) => candidate.inputs.port === (url.protocol === 'https:' ? 443 : 80),
        )) {
          const decision = albDecision(base.graph, listener, { host: url.hostname, path: url.pathname });
          expect(decision.kind === 'forward' && decision.targetGroup.state.arn).toBe(
            app.service.inputs.loadBalancers[0].targetGroupArn,
          );
        }
        expectServedPath(base, upstream, url.href);
      }
    });
  });
}

export function describeEksGateway(runs: () => StackRuns): void {
  describe('EKS gateway outcomes (issue 13)', () => {
    let base: Captured;
    let topology: EksTopology;
    let app: EksServer;
    let upstreams: UpstreamConfig[];
    beforeAll(() => {
      base = runs().base;
      topology = topologyOf(base);
      app = [...topology.servers.values()].find(
        (server) => base.config.servers[server.name]?.build === 'app',
      )!;
      upstreams = upstreamsOf(podEnv(app));
    });
    const upstreamPods = (name: string) => topology.servers.get(name) as EksServer;

    it("the app's UPSTREAMS names every third-party server without a route of its own, each found by DNS", () => {
      expect(upstreams.map((upstream) => upstream.name).sort()).toEqual(expectedUpstreams(base));
      expect(upstreams.length).toBeGreaterThan(0);
      for (const upstream of upstreams) dnsOf(upstream);
    });

    it('each upstream name resolves through kube-dns to one A record per ready pod of that server, and the app pods reach them on the UPSTREAMS port', () => {
      expectOpen(connect(topology.model, app.pod, topology.kubeDns!, 53, 'udp'));
      for (const upstream of upstreams) {
        const { hostname, port } = dnsOf(upstream);
        const answer = resolveClusterDns(base.graph, hostname);
        expect(answer.ok ? 'resolves' : answer.reason).toBe('resolves');
        if (!answer.ok) continue;
        const target = upstreamPods(upstream.name);
        expect(label(answer.workload)).toBe(label(target.deployment));
        // A virtual IP would hide the pods behind kube-proxy's per-connection choice: no pinning.
        expect(answer.records).toBe('per-instance');
        expect(mostPods(base.graph, target)).toBeLessThanOrEqual(answer.maxRecords);
        // A headless Service's records are pod addresses: the gateway dials the container port itself.
        expect(port).toBe(containerPortOf(target.containers, target.name, 'eks'));
        expectOpen(connect(topology.model, app.pod, target.pod, port));
      }
    });

    it('the internet reaches no third-party pod: no Ingress routes to its Service, and neither the internet, the NLB nor the ingress controller connects to it', () => {
      for (const upstream of upstreams) {
        const target = upstreamPods(upstream.name);
        const namespace = target.pod.pod!.namespace;
        const routed = base.graph
          .ofType(T.ingress)
          .filter((ingress) => ingress.inputs.metadata?.namespace === namespace);
        expect(routed.map(label)).toEqual([]);
        const port = dnsOf(upstream).port;
        const refusers: Endpoint[] = [topology.internet, topology.nlb!.endpoint, topology.controllerPod!];
        for (const from of refusers) {
          expectRefused(connect(topology.model, from, target.pod, port), `${from.name} → ${upstream.name}`);
        }
      }
    });

    it('no other workload reaches a third-party server: Prometheus and the pods of another server are refused', () => {
      const added = topologyOf(runs().churnAdded);
      const others = [...added.servers.values()].filter(
        (server) =>
          runs().churnAdded.config.servers[server.name]?.build !== 'app' &&
          !upstreams.some((u) => u.name === server.name),
      );
      expect(others.length).toBeGreaterThan(0);
      for (const upstream of upstreams) {
        const target = added.servers.get(upstream.name) as EksServer;
        for (const from of [added.monitoring, ...others.map((other) => other.pod)]) {
          expectRefused(
            connect(added.model, from, target.pod, dnsOf(upstream).port),
            `${from.name} → ${upstream.name}`,
          );
        }
      }
    });

    it("each gateway URL in serverUrls reaches the app through nginx, and maps to the path the upstream's process serves", async () => {
      const urls = (await promiseOf(base.run.outputs.serverUrls)) as Record<string, string>;
      for (const upstream of upstreams) {
        const url = new URL(urls[upstream.name] as string);
        const backend = ingressBackend(base.graph, topology.ingressClass!, {
          host: url.hostname,
          path: url.pathname,
        });
        expect(backend).toMatchObject({ namespace: app.pod.pod!.namespace, service: app.name });
        expectOpen(
          connect(
            topology.model,
            topology.controllerPod!,
            app.pod,
            containerPortOf(app.containers, app.name, 'eks'),
          ),
        );
        expectServedPath(base, upstream, url.href);
      }
    });
  });
}
