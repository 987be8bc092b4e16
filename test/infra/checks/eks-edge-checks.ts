import { describe, expect, it } from 'vitest';
import { MAX_BODY } from '../../../app/http/app.js';
import { churn } from '../outcome/churn.js';
import {
  bodyLimitBytes,
  controllerPodLabels,
  controllerRelease,
  controllerRoll,
  nlbOf,
} from '../outcome/eks-edge.js';
import { label, type Resource, type ResourceGraph, T } from '../outcome/graph.js';
import { allowing } from '../outcome/iam.js';
import { selectorMatches } from '../outcome/network-policy.js';
import type { Captured, StackRuns } from './runs.js';

/** What the edge does with streams, bodies, client addresses and TLS, and what a controller switch moves. */

const autoModeOf = (captured: Captured) => captured.config.eks.compute === 'auto';
const edgeOf = (captured: Captured) => nlbOf(captured.graph, autoModeOf(captured));
/** The base run and the run after the switch to the other controller: every edge check holds on both. */
const bothControllers = (runs: StackRuns) => [runs.base, runs.switched as Captured];

/** express's `limit: '4mb'` (the bytes library: 1 mb = 1024 × 1024 bytes). */
function appBodyLimit(): number {
  const match = /^(\d+)mb$/.exec(MAX_BODY);
  if (!match) throw new Error(`unexpected MAX_BODY ${MAX_BODY}`);
  return Number(match[1]) * 1024 * 1024;
}

const CERTIFICATE = 'kubernetes:cert-manager.io/v1:Certificate';
const ISSUER = 'kubernetes:cert-manager.io/v1:ClusterIssuer';

/** `*.example.com` covers `a.example.com`, not `a.b.example.com` (RFC 6125 §6.4.3). */
function covers(name: string, host: string): boolean {
  if (!name.startsWith('*.')) return name === host;
  const [, ...rest] = host.split('.');
  return rest.join('.') === name.slice(2);
}

/** The policies of the role a service account gets through Pod Identity. */
function podPolicies(graph: ResourceGraph, namespace: string, serviceAccount: string): string[] {
  const association = graph
    .ofType(T.podIdentityAssociation)
    .find(
      (candidate) =>
        candidate.inputs.namespace === namespace && candidate.inputs.serviceAccount === serviceAccount,
    );
  const role = association && graph.byRef('aws:iam/role:Role', association.inputs.roleArn);
  if (!role) return [];
  return graph
    .ofType('aws:iam/rolePolicy:RolePolicy')
    .filter((policy) => policy.inputs.role === role.id)
    .map((policy) => String(policy.inputs.policy));
}

/** The Secret `namespace/name` nginx serves for hosts without one of their own. */
function servedSecret(release: Resource): string | undefined {
  const controller = release.inputs.values?.controller ?? {};
  return controller.wildcardTLS?.secret ?? controller.extraArgs?.['default-ssl-certificate'];
}

export function describeEksEdge(runs: () => StackRuns): void {
  describe('EKS edge outcomes', () => {
    it('finding 10: nginx passes every body the app accepts (4 MB), on both controllers', () => {
      for (const captured of bothControllers(runs())) {
        const release = controllerRelease(captured.graph)!;
        const ingresses = captured.graph.ofType(T.ingress);
        expect(ingresses.length).toBeGreaterThan(0);
        for (const ingress of ingresses) {
          expect(
            bodyLimitBytes(release, ingress),
            `${label(ingress)} via ${release.inputs.name}`,
          ).toBeGreaterThanOrEqual(appBodyLimit());
        }
      }
    });

    it('finding 17: a stopping controller pod keeps its streams for a bounded time, cut by nginx itself, with room for old workers', () => {
      for (const captured of bothControllers(runs())) {
        const roll = controllerRoll(controllerRelease(captured.graph)!, edgeOf(captured));
        // Bounded: nginx lets old workers (and their memory) go; not by SIGKILL or the NLB first.
        expect(roll.workerShutdownSeconds).toBeDefined();
        expect(roll.cutBy).toBe('nginx worker_shutdown_timeout');
        // Long enough for a tool call in flight to finish and its client to hear the result.
        expect(roll.streamCutAfterSeconds).toBeGreaterThanOrEqual(60);
        // F5's warning: generations of workers kept by open streams OOM-killed a 256Mi controller.
        expect(roll.memoryLimitMiB).toBeGreaterThanOrEqual(1024);
      }
    });

    it("finding 18: the NLB is the load balancer controller's, on TCP listeners whose idle timeout outlasts nginx's stream timeout", () => {
      for (const captured of bothControllers(runs())) {
        const edge = edgeOf(captured)!;
        expect(edge.provisioner).toBe(
          autoModeOf(captured) ? 'eks-auto-mode' : 'aws-load-balancer-controller',
        );
        for (const listener of edge.listeners) {
          expect(listener.protocol, `listener ${listener.port}`).toBe('TCP');
          // nginx closes a stream idle for proxy-read-timeout (3600 s); the NLB must not cut it sooner.
          expect(listener.idleTimeoutSeconds, `listener ${listener.port}`).toBeGreaterThanOrEqual(3600);
        }
      }
    });

    it('finding 18: with a domain, TLS ends in nginx, with a certificate that names every host and can be renewed', () => {
      const { base } = runs();
      const domain = base.config.domain;
      const hosts = Object.values(base.config.servers).flatMap((server) =>
        server.ingress?.host ? [server.ingress.host] : [],
      );
      if (!domain) {
        expect(edgeOf(base)?.listeners.map((listener) => listener.port)).toEqual([80]);
        return;
      }
      for (const captured of bothControllers(runs())) {
        const edge = edgeOf(captured)!;
        expect(edge.listeners.find((listener) => listener.port === 443)?.targetPort).toBe('https');
        const [namespace, secret] = String(servedSecret(controllerRelease(captured.graph)!)).split('/');
        const certificate = captured.graph
          .ofType(CERTIFICATE)
          .find(
            (candidate) =>
              candidate.inputs.metadata?.namespace === namespace &&
              candidate.inputs.spec?.secretName === secret,
          );
        expect(certificate, `a cert-manager Certificate writing ${namespace}/${secret}`).toBeDefined();
        for (const host of hosts) {
          expect(
            certificate!.inputs.spec.dnsNames.some((name: string) => covers(name, host)),
            host,
          ).toBe(true);
          const ingress = captured.graph
            .ofType(T.ingress)
            .find((candidate) => candidate.inputs.spec.rules[0].host === host);
          expect(ingress?.inputs.spec.tls?.[0]?.hosts, host).toContain(host);
        }
        // Renewal: the issuer answers DNS-01 in the stack's zone, with credentials allowed to write it.
        const issuer = captured.graph
          .ofType(ISSUER)
          .find((candidate) => candidate.inputs.metadata?.name === certificate!.inputs.spec.issuerRef.name);
        const zone: string = issuer?.inputs.spec.acme.solvers[0].dns01.route53.hostedZoneID;
        const record = captured.graph.ofType('aws:route53/record:Record')[0];
        expect(zone).toBe(record?.inputs.zoneId);
        const policies = podPolicies(captured.graph, 'cert-manager', 'cert-manager');
        expect(
          policies.some(
            (policy) =>
              allowing(policy, 'route53:ChangeResourceRecordSets', `arn:aws:route53:::hostedzone/${zone}`)
                .length > 0,
          ),
        ).toBe(true);
      }
    });

    it("finding 19: nginx sees the client's address, not a node's, on both controllers", () => {
      for (const captured of bothControllers(runs())) {
        const edge = edgeOf(captured)!;
        expect({ targetType: edge.targetType, clientIpPreserved: edge.clientIpPreserved }).toEqual({
          targetType: 'ip',
          clientIpPreserved: true,
        });
      }
    });

    it('finding 15: switching controllers replaces only the release, keeps the NLB, and hands it the new pods', () => {
      const { base, switched } = runs();
      const before = controllerRelease(base.graph)!;
      const after = controllerRelease(switched!.graph)!;
      expect(after.inputs.name).not.toBe(before.inputs.name);
      const moved = churn(base.graph, switched!.graph);
      expect(moved.deleted).toEqual([]);
      expect(moved.replaced.map((entry) => entry.split(' (')[0])).toEqual([label(before)]);
      // Create-before-delete works only if the two releases claim no object in common.
      const className = (release: Resource) =>
        release.inputs.values.controller.ingressClass?.name ??
        release.inputs.values.controller.ingressClassResource?.name;
      expect(className(after)).not.toBe(className(before));
      expect(after.inputs.values.fullnameOverride).not.toBe(before.inputs.values.fullnameOverride);
      // Every Ingress moves to the new class; the NLB's Service now selects the new controller's pods.
      for (const ingress of switched!.graph.ofType(T.ingress)) {
        expect(ingress.inputs.spec.ingressClassName, label(ingress)).toBe(className(after));
      }
      const service = edgeOf(switched!)!.service;
      expect(selectorMatches({ matchLabels: service.inputs.spec.selector }, controllerPodLabels(after))).toBe(
        true,
      );
      expect(
        selectorMatches({ matchLabels: service.inputs.spec.selector }, controllerPodLabels(before)),
      ).toBe(false);
    });

    it('finding 15: a preview reads no Kubernetes object that a first deploy has not created yet', () => {
      const reads = runs().base.graph.resources.filter((resource) => resource.read);
      expect(reads.map(label)).toEqual([]);
    });
  });
}
