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
import { selectorMatches } from '../outcome/network-policy.js';
import { connect, type Endpoint } from '../outcome/reachability.js';
import { type Captured, REGION, type StackRuns } from './runs.js';
import {
  CLIENT_PATHS,
  DOCKER_HUB,
  deployedWithoutNat,
  expectOpen,
  metricsPort,
  OPERATIONS_PROBES,
  publicListenerPorts,
  registryServices,
} from './verdicts.js';

/** The EKS paths the product needs, and the ones it must refuse. */

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

/** Image pulls are the kubelet's, on the node. */
function pullEndpoints(topology: EksTopology, server: EksServer): Endpoint[] {
  return registryServices(mainContainer(server).image).map((service) =>
    service === 'docker-hub' ? DOCKER_HUB : topology.aws(service),
  );
}

/** The captured run as the network sees it, with the stack's monitoring namespace. */
export function topologyOf(captured: Captured): EksTopology {
  return eksTopology(captured.graph, REGION, {
    monitoringNamespace: captured.config.metrics.scrapeNamespace,
  });
}

export function describeEksNetwork(runs: () => StackRuns): void {
  describe('EKS network outcomes', () => {
    let topology: EksTopology;
    let base: Captured;
    beforeAll(() => {
      base = runs().base;
      topology = topologyOf(base);
    });
    const servers = () => [...topology.servers.values()];
    const node = () => topology.nodes[0]!;

    it('the internet reaches an internet-facing NLB in a public subnet on 80, and on 443 with a domain', () => {
      const nlb = topology.nlb!;
      expect(nlb).toMatchObject({ internetFacing: true, publicSubnet: true });
      const ports = nlb.listeners.map((listener) => listener.port).sort();
      expect(ports).toEqual(publicListenerPorts(base));
      for (const port of ports) expectOpen(connect(topology.model, topology.internet, nlb.endpoint, port));
    });

    it("the NLB reaches the controller, the controller each public server's pods, and the Ingress routes each public URL there", async () => {
      const urls = (await promiseOf(base.run.outputs.serverUrls)) as Record<string, string>;
      const nlb = topology.nlb!;
      // The NLB's targets are the pods its Service selects: they must be the controller's.
      expect(
        selectorMatches(
          { matchLabels: nlb.service.inputs.spec.selector },
          topology.controllerPod!.pod!.labels,
        ),
      ).toBe(true);
      expect(nlb.service.inputs.metadata.namespace).toBe(topology.controllerPod!.pod!.namespace);
      for (const listener of nlb.listeners) {
        const port =
          topology.controllerPod!.pod!.namedPorts?.[String(listener.targetPort)] ??
          Number(listener.targetPort);
        const target = nlb.targetType === 'ip' ? topology.controllerPod! : node();
        expectOpen(connect(topology.model, nlb.endpoint, target, port));
      }
      const routed = servers().filter((server) => base.config.servers[server.name]?.ingress !== undefined);
      expect(routed.length).toBeGreaterThan(0);
      for (const server of routed) {
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

    it('finding 8: pods with AWS permissions reach the Pod Identity agent on 169.254.170.23:80', () => {
      const withAws = topologyOf(runs().churnBase);
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

    it('finding 7: Prometheus in the monitoring namespace reaches the app pods on their metrics port', () => {
      for (const server of servers().filter((candidate) => isApp(base, candidate))) {
        expectOpen(connect(topology.model, topology.monitoring, server.pod, metricsPort(envOf(server))));
      }
    });

    it('the internet gets only the client paths: no Ingress routes /health, /ready, /live or /metrics on any host, while the kubelet still probes the pods', () => {
      const leaks: string[] = [];
      const hosts = Object.values(base.config.servers).flatMap((server) =>
        server.ingress?.host ? [server.ingress.host] : [],
      );
      expect(hosts.length).toBeGreaterThan(0);
      for (const host of hosts) {
        for (const path of OPERATIONS_PROBES) {
          const backend = ingressBackend(base.graph, topology.ingressClass!, { host, path });
          if (backend)
            leaks.push(`${host}${path} reaches ${backend.namespace}/${backend.service} (${backend.by})`);
        }
      }
      expect(leaks).toEqual([]);
      for (const server of servers().filter((candidate) => isApp(base, candidate))) {
        const host = base.config.servers[server.name]?.ingress?.host as string;
        for (const path of CLIENT_PATHS) {
          expect(ingressBackend(base.graph, topology.ingressClass!, { host, path }), path).toMatchObject({
            service: server.name,
            path,
          });
        }
      }
      // Probes come from the kubelet on the pod's own node, which NetworkPolicies always admit.
      for (const server of servers()) {
        const node = topology.nodes.find((candidate) => candidate.name === server.pod.pod?.node)!;
        expectOpen(connect(topology.model, node, server.pod, containerPort(server)));
      }
    });

    it('finding 25: on EKS Auto Mode the NetworkPolicies are enforced', () => {
      const auto = topologyOf(runs().autoMode!);
      expect(auto.autoMode).toBe(true);
      expect(auto.model.policiesEnforced).toBe(true);
    });

    it('finding 20: without NAT, the stack is refused, or nodes pull every image through VPC endpoints', () => {
      const withoutNat = deployedWithoutNat(runs());
      if (!withoutNat) return;
      const bare = topologyOf(withoutNat);
      for (const server of bare.servers.values()) {
        for (const each of bare.nodes) {
          for (const endpoint of pullEndpoints(bare, server))
            expectOpen(connect(bare.model, each, endpoint, 443));
        }
      }
    });
  });
}
