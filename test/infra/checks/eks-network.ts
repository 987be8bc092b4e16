import { beforeAll, describe, expect, it } from 'vitest';
import { promiseOf } from '../harness.js';
import {
  type EksServer,
  type EksTopology,
  eksTopology,
  POD_IDENTITY_AGENT,
} from '../outcome/eks-topology.js';
import { T } from '../outcome/graph.js';
import { ingressBackend } from '../outcome/http-routing.js';
import { connect, type Endpoint } from '../outcome/reachability.js';
import { type Captured, REGION, type StackRuns } from './runs.js';
import { DOCKER_HUB, expectOpen, metricsPort, registryServices } from './verdicts.js';

/** The EKS paths the product needs, and the ones it must refuse. */

/** A NodePort of the controller's Service (the range the service controller opens). */
const NODE_PORT = 30443;

// biome-ignore lint/suspicious/noExplicitAny: one pod container.
const mainContainer = (server: EksServer): any =>
  server.containers.find((container) => container.name === server.name) ?? server.containers[0];
const envOf = (server: EksServer): Record<string, string> =>
  Object.fromEntries(
    (mainContainer(server).env ?? [])
      .filter((variable: { value?: string }) => variable.value !== undefined)
      .map((variable: { name: string; value: string }) => [variable.name, variable.value]),
  );
const containerPort = (server: EksServer): number => mainContainer(server).ports[0].containerPort;
const isApp = (captured: Captured, server: EksServer) =>
  captured.config.servers[server.name]?.build === 'app';

/** The NLB forwarding a client's connection: no security group, the client's address preserved. */
function nlbForwarding(topology: EksTopology): Endpoint {
  const subnet = topology.model.graph
    .ofType(T.subnet)
    .find((candidate) => candidate.inputs.tags?.['kubernetes.io/role/elb'] === '1');
  return {
    name: 'the NLB',
    eni: {
      subnetId: subnet!.id,
      ip: topology.internet.internet!.ip,
      securityGroupIds: [],
      publicIp: true,
      unfiltered: true,
    },
  };
}

/** Image pulls are the kubelet's, on the node. */
function pullEndpoints(topology: EksTopology, server: EksServer): Endpoint[] {
  return registryServices(mainContainer(server).image).map((service) =>
    service === 'docker-hub' ? DOCKER_HUB : topology.aws(service),
  );
}

export function describeEksNetwork(runs: () => StackRuns): void {
  describe('EKS network outcomes', () => {
    let topology: EksTopology;
    let base: Captured;
    beforeAll(() => {
      base = runs().base;
      topology = eksTopology(base.graph, REGION);
    });
    const servers = () => [...topology.servers.values()];
    const node = () => topology.nodes[0]!;

    it('the internet reaches an internet-facing NLB in a public subnet on 443', () => {
      expect(topology.nlb).toMatchObject({ internetFacing: true, publicSubnet: true });
      expect(topology.nlb?.ports).toContain(443);
    });

    it("the NLB reaches the controller, the controller each server's pods, and the Ingress routes each public URL there", async () => {
      const urls = (await promiseOf(base.run.outputs.serverUrls)) as Record<string, string>;
      expectOpen(connect(topology.model, nlbForwarding(topology), node(), NODE_PORT));
      expectOpen(connect(topology.model, node(), topology.controllerPod!, 80));
      expect(servers().length).toBeGreaterThan(1);
      for (const server of servers()) {
        expectOpen(connect(topology.model, topology.controllerPod!, server.pod, containerPort(server)));
        const url = new URL(urls[server.name] as string);
        const backend = ingressBackend(base.graph, topology.ingressClass!, {
          host: url.hostname,
          path: url.pathname,
        });
        expect(backend).toMatchObject({ namespace: server.pod.pod!.namespace, service: server.name });
      }
    });

    it('the app pods reach Redis on 6379', () => {
      const users = servers().filter((server) =>
        mainContainer(server).env.some((variable: { name: string }) => variable.name === 'REDIS_URL'),
      );
      expect(users.map((server) => server.name)).toContain('app');
      for (const server of users)
        expectOpen(connect(topology.model, server.pod, topology.redis!.endpoint, topology.redis!.port));
    });

    it('every pod resolves names through kube-dns on 53/udp and 53/tcp', () => {
      for (const server of servers()) {
        expectOpen(connect(topology.model, server.pod, topology.kubeDns!, 53, 'udp'));
        expectOpen(connect(topology.model, server.pod, topology.kubeDns!, 53, 'tcp'));
      }
    });

    it('nodes in every subnet pull every image (ECR or Docker Hub) and pods reach AWS APIs on 443', () => {
      for (const server of servers()) {
        for (const each of topology.nodes) {
          for (const endpoint of pullEndpoints(topology, server))
            expectOpen(connect(topology.model, each, endpoint, 443));
        }
        expectOpen(connect(topology.model, server.pod, topology.aws('secretsmanager'), 443));
      }
    });

    it.fails('finding 8: pods with AWS permissions reach the Pod Identity agent on 169.254.170.23:80', () => {
      const withAws = eksTopology(runs().churnBase.graph, REGION);
      const associated = runs()
        .churnBase.graph.ofType(T.podIdentityAssociation)
        .map((association) => association.inputs.namespace);
      const pods = [...withAws.servers.values()].filter((server) =>
        associated.includes(server.pod.pod!.namespace),
      );
      expect(pods).not.toHaveLength(0);
      expect(withAws.podIdentityAgent).toBeDefined();
      for (const server of pods)
        expectOpen(connect(withAws.model, server.pod, withAws.podIdentityAgent!, POD_IDENTITY_AGENT.port));
    });

    it.fails('finding 7: Prometheus in the monitoring namespace reaches the app pods on their metrics port', () => {
      for (const server of servers().filter((candidate) => isApp(base, candidate))) {
        expectOpen(connect(topology.model, topology.monitoring, server.pod, metricsPort(envOf(server))));
      }
    });

    it.fails('finding 7: the internet gets no /metrics: the Ingress routes no host to a port that serves it', () => {
      const leaks: string[] = [];
      for (const server of servers()) {
        const host = base.config.servers[server.name]?.ingress.host as string;
        const backend = ingressBackend(base.graph, topology.ingressClass!, { host, path: '/metrics' });
        const reached = servers().find(
          (candidate) =>
            candidate.name === backend?.service && candidate.pod.pod?.namespace === backend?.namespace,
        );
        if (reached && isApp(base, reached) && containerPort(reached) === metricsPort(envOf(reached))) {
          leaks.push(`${host}/metrics reaches ${reached.name}'s metrics (${backend?.by})`);
        }
      }
      expect(leaks).toEqual([]);
    });

    it.fails('finding 25: on EKS Auto Mode the NetworkPolicies are enforced', () => {
      const auto = eksTopology(runs().autoMode!.graph, REGION);
      expect(auto.autoMode).toBe(true);
      expect(auto.model.policiesEnforced).toBe(true);
    });

    it('finding 20: without NAT, the stack is refused, or nodes pull every image through VPC endpoints', () => {
      const { withoutNat } = runs();
      if ('refused' in withoutNat) {
        expect(withoutNat.refused).toMatch(/vpc\.nat/);
        return;
      }
      const bare = eksTopology(withoutNat.graph, REGION);
      for (const server of bare.servers.values()) {
        for (const each of bare.nodes) {
          for (const endpoint of pullEndpoints(bare, server))
            expectOpen(connect(bare.model, each, endpoint, 443));
        }
      }
    });
  });
}
