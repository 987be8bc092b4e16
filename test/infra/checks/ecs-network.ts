import { beforeAll, describe, expect, it } from 'vitest';
import { promiseOf } from '../harness.js';
import { type EcsServer, type EcsTopology, ecsTopology } from '../outcome/ecs-topology.js';
import { T } from '../outcome/graph.js';
import { albDecision } from '../outcome/http-routing.js';
import { connect } from '../outcome/reachability.js';
import { type Captured, REGION, type StackRuns } from './runs.js';
import {
  CLIENT_PATHS,
  DOCKER_HUB,
  deployedWithoutNat,
  expectOpen,
  expectRefused,
  metricsPort,
  OPERATIONS_PROBES,
  publicListenerPorts,
  registryServices,
} from './verdicts.js';

/** The ECS paths the product needs, and the ones it must refuse. */

// biome-ignore lint/suspicious/noExplicitAny: one ECS container definition.
const appContainer = (server: EcsServer): any =>
  server.containers.find((container) => container.name === server.name);
const envOf = (server: EcsServer): Record<string, string> =>
  Object.fromEntries(
    (appContainer(server).environment ?? []).map((variable: { name: string; value: string }) => [
      variable.name,
      variable.value,
    ]),
  );
const containerPort = (server: EcsServer): number => appContainer(server).portMappings[0].containerPort;
const isApp = (captured: Captured, server: EcsServer) =>
  captured.config.servers[server.name]?.build === 'app';

/** Every endpoint a task reaches before its server can start: the image registry, its secrets, its log group. */
function startEndpoints(topology: EcsTopology, server: EcsServer) {
  const container = appContainer(server);
  const services = [
    ...registryServices(container.image),
    ...((container.secrets ?? []).length > 0 ? ['secretsmanager'] : []),
    ...(container.logConfiguration?.logDriver === 'awslogs' ? ['logs'] : []),
  ];
  return services.map((service) => (service === 'docker-hub' ? DOCKER_HUB : topology.aws(service)));
}

export function describeEcsNetwork(runs: () => StackRuns): void {
  describe('ECS network outcomes', () => {
    let topology: EcsTopology;
    let base: Captured;
    beforeAll(() => {
      base = runs().base;
      topology = ecsTopology(base.graph, REGION);
    });
    const servers = () => [...topology.servers.values()];

    it('the internet reaches the ALB on its listener ports: 80, and 443 with a certificate', () => {
      const ports = topology.alb.listeners.map((listener) => Number(listener.inputs.port)).sort();
      expect(ports).toEqual(publicListenerPorts(base));
      for (const port of ports)
        expectOpen(connect(topology.model, topology.internet, topology.alb.endpoint, port));
    });

    it("the ALB reaches each public server's tasks on its container port, and routes the server's public URL there", async () => {
      const urls = (await promiseOf(base.run.outputs.serverUrls)) as Record<string, string>;
      const listener =
        topology.alb.listeners.find((candidate) => candidate.inputs.protocol === 'HTTPS') ??
        topology.alb.listeners[0];
      const routed = servers().filter((server) => base.config.servers[server.name]?.ingress !== undefined);
      expect(routed.length).toBeGreaterThan(0);
      for (const server of routed) {
        expectOpen(connect(topology.model, topology.alb.endpoint, server.task, containerPort(server)));
        const url = new URL(urls[server.name] as string);
        const decision = albDecision(base.graph, listener!, { host: url.hostname, path: url.pathname });
        const target = server.service.inputs.loadBalancers[0];
        expect(decision.kind === 'forward' && decision.targetGroup.state.arn).toBe(target.targetGroupArn);
        expect(target.containerPort).toBe(containerPort(server));
      }
    });

    it('finding 1: the app tasks reach Redis on 6379', () => {
      const users = servers().filter((server) =>
        (appContainer(server).secrets ?? []).some((s: { name: string }) => s.name === 'REDIS_URL'),
      );
      expect(users.map((server) => server.name)).toContain('app');
      for (const task of users.flatMap((server) => server.tasks)) {
        expectOpen(connect(topology.model, task, topology.redis!.endpoint, topology.redis!.port));
      }
    });

    it('every task, in every subnet, reaches its image registry, Secrets Manager and CloudWatch Logs on 443', () => {
      for (const server of servers()) {
        for (const task of server.tasks) {
          for (const endpoint of startEndpoints(topology, server))
            expectOpen(connect(topology.model, task, endpoint, 443));
        }
      }
    });

    it('finding 20: without NAT, the stack is refused, or tasks reach their registry, secrets and logs through VPC endpoints', () => {
      const withoutNat = deployedWithoutNat(runs());
      if (!withoutNat) return;
      const bare = ecsTopology(withoutNat.graph, REGION);
      for (const server of bare.servers.values()) {
        for (const task of server.tasks) {
          for (const endpoint of startEndpoints(bare, server))
            expectOpen(connect(bare.model, task, endpoint, 443));
        }
      }
    });

    it('the internet gets only the client paths: /health, /ready, /live and /metrics get the ALB 404 on every listener and host, while the ALB health check still reaches the app', () => {
      const app = servers().filter((server) => isApp(base, server));
      expect(app).not.toHaveLength(0);
      const hosts = [
        ...Object.values(base.config.servers).flatMap((server) =>
          server.ingress?.host ? [server.ingress.host] : [],
        ),
        topology.alb.resource.state.dnsName,
      ];
      const leaks: string[] = [];
      for (const listener of topology.alb.listeners) {
        for (const host of hosts) {
          for (const path of OPERATIONS_PROBES) {
            const decision = albDecision(base.graph, listener, { host, path });
            if (decision.kind === 'forward')
              leaks.push(`${host}${path} on port ${listener.inputs.port} (${decision.by})`);
          }
        }
      }
      expect(leaks).toEqual([]);
      // What clients need still reaches the app on its public host, over the listener its URL names.
      const listener =
        topology.alb.listeners.find((candidate) => candidate.inputs.protocol === 'HTTPS') ??
        topology.alb.listeners[0]!;
      for (const server of app) {
        const host = base.config.servers[server.name]?.ingress?.host ?? topology.alb.resource.state.dnsName;
        for (const path of CLIENT_PATHS) {
          const decision = albDecision(base.graph, listener, { host, path });
          expect(decision.kind === 'forward' && decision.targetGroup.state.arn, path).toBe(
            server.service.inputs.loadBalancers[0].targetGroupArn,
          );
        }
        // The target group's health check addresses the task itself: the ALB reaches its traffic port.
        const targetGroup = base.graph.byRef(
          T.targetGroup,
          server.service.inputs.loadBalancers[0].targetGroupArn,
        )!;
        expect(targetGroup.inputs.healthCheck.port).toBe('traffic-port');
        expectOpen(connect(topology.model, topology.alb.endpoint, server.task, containerPort(server)));
      }
    });

    it('finding 7 (ECS, deliverable 4): an ADOT collector in the app task scrapes METRICS_PORT and ships to CloudWatch or AMP; the ALB cannot reach that port', () => {
      for (const server of servers().filter((candidate) => isApp(base, candidate))) {
        const env = envOf(server);
        expect(
          env.METRICS_PORT,
          `${server.name}: METRICS_PORT (the app serves /metrics on its traffic port otherwise)`,
        ).toBeDefined();
        expect(metricsPort(env)).not.toBe(containerPort(server));
        // Containers of one task share its network namespace (awsvpc): the collector scrapes localhost.
        const collector = server.containers.find((container) =>
          /aws-otel-collector|aws-observability/.test(container.image ?? ''),
        );
        expect(collector, `${server.name}: an ADOT collector container in the task`).toBeDefined();
        const sinks = ['monitoring', 'logs', 'aps-workspaces'].map((service) =>
          connect(topology.model, server.task, topology.aws(service), 443),
        );
        expect(sinks.some((verdict) => verdict.ok)).toBe(true);
        expectRefused(
          connect(topology.model, topology.alb.endpoint, server.task, metricsPort(env)),
          'ALB → metrics port',
        );
      }
    });
  });
}
