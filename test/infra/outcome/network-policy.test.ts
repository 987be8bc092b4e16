import { describe, expect, it } from 'vitest';
import { egressVerdict, ingressVerdict, type PodIdentity, type Policy } from './network-policy.js';

const app: PodIdentity = {
  namespace: 'mcp-app',
  labels: { app: 'mcp' },
  namespaceLabels: { 'kubernetes.io/metadata.name': 'mcp-app' },
  namedPorts: { http: 3000 },
};
const controller: PodIdentity = {
  namespace: 'nginx',
  labels: { app: 'nginx' },
  namespaceLabels: { 'kubernetes.io/metadata.name': 'nginx' },
};
const dns: PodIdentity = {
  namespace: 'kube-system',
  labels: { 'k8s-app': 'kube-dns' },
  namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
};
const policy = (spec: Policy['spec'], namespace = 'mcp-app'): Policy => ({ name: 'p', namespace, spec });

describe('NetworkPolicy', () => {
  it('a pod no policy selects is open; once selected for Egress, only what a rule allows leaves', () => {
    expect(egressVerdict([], app, { ip: '10.0.0.9' }, 6379, 'tcp').allowed).toBe(true);
    const other = policy({ podSelector: { matchLabels: { app: 'other' } }, policyTypes: ['Egress'] });
    expect(egressVerdict([other], app, { ip: '10.0.0.9' }, 6379, 'tcp').allowed).toBe(true);
    const deny = policy({ podSelector: {}, policyTypes: ['Egress'] });
    const verdict = egressVerdict([deny], app, { ip: '10.0.0.9' }, 6379, 'tcp');
    expect(!verdict.allowed && verdict.reason).toMatch(/isolates it for egress/);
  });

  it('an egress section alone makes the policy an Egress policy; a policy without one isolates ingress only', () => {
    const withEgress = policy({
      podSelector: {},
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16' } }], ports: [{ port: 6379 }] }],
    });
    expect(egressVerdict([withEgress], app, { ip: '10.0.0.9' }, 6379, 'tcp').allowed).toBe(true);
    expect(egressVerdict([withEgress], app, { ip: '10.0.0.9' }, 6380, 'tcp').allowed).toBe(false);
    expect(egressVerdict([withEgress], app, { ip: '169.254.170.23' }, 80, 'tcp').allowed).toBe(false);
    const ingressOnly = policy({ podSelector: {} });
    expect(egressVerdict([ingressOnly], app, { ip: '169.254.170.23' }, 80, 'tcp').allowed).toBe(true);
    expect(ingressVerdict([ingressOnly], app, { ip: '10.0.0.9', pod: controller }, 3000, 'tcp').allowed).toBe(
      false,
    );
  });

  it('namespaceSelector and podSelector in one peer are ANDed; in two peers, ORed', () => {
    const both = policy({
      podSelector: {},
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [{ protocol: 'UDP', port: 53 }],
        },
      ],
    });
    expect(egressVerdict([both], app, { ip: '10.0.1.53', pod: dns }, 53, 'udp').allowed).toBe(true);
    expect(egressVerdict([both], app, { ip: '10.0.1.53', pod: dns }, 53, 'tcp').allowed).toBe(false);
    const otherSystemPod = { ...dns, labels: { 'k8s-app': 'metrics-server' } };
    expect(egressVerdict([both], app, { ip: '10.0.1.54', pod: otherSystemPod }, 53, 'udp').allowed).toBe(
      false,
    );
    const either = policy({
      podSelector: {},
      egress: [
        {
          to: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
            { podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
          ],
        },
      ],
    });
    expect(egressVerdict([either], app, { ip: '10.0.1.54', pod: otherSystemPod }, 53, 'udp').allowed).toBe(
      true,
    );
  });

  it('a podSelector alone means pods of the policy namespace; ipBlock honours except', () => {
    const sameNamespace = policy({
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'nginx' } } }] }],
    });
    expect(
      ingressVerdict([sameNamespace], app, { ip: '10.0.2.1', pod: controller }, 3000, 'tcp').allowed,
    ).toBe(false);
    const blocks = policy({
      podSelector: {},
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } }] }],
    });
    expect(egressVerdict([blocks], app, { ip: '52.1.2.3' }, 443, 'tcp').allowed).toBe(true);
    expect(egressVerdict([blocks], app, { ip: '169.254.170.23' }, 80, 'tcp').allowed).toBe(false);
  });

  it('admits the pod own node whatever the policy, and resolves named ports on the destination', () => {
    const fromController = policy({
      podSelector: {},
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'nginx' } } }],
          ports: [{ port: 'http' }],
        },
      ],
    });
    expect(
      ingressVerdict([fromController], app, { ip: '10.0.0.40', fromLocalNode: true }, 9999, 'tcp').allowed,
    ).toBe(true);
    expect(
      ingressVerdict([fromController], app, { ip: '10.0.2.1', pod: controller }, 3000, 'tcp').allowed,
    ).toBe(true);
    expect(
      ingressVerdict([fromController], app, { ip: '10.0.2.1', pod: controller }, 9464, 'tcp').allowed,
    ).toBe(false);
  });
});
