import { cidrContains } from './cidr.js';
import { type ResourceGraph, T } from './graph.js';
import type { Protocol } from './security-groups.js';

/**
 * Kubernetes NetworkPolicy semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/
 * and the NetworkPolicySpec API reference):
 * - a pod is isolated for egress (ingress) when any policy in its namespace selects it and lists
 *   Egress (Ingress) in its policyTypes; an isolated pod's connection is allowed only if some rule of
 *   some selecting policy allows it (rules are additive);
 * - policyTypes defaults to Ingress, plus Egress when the policy has an egress section;
 * - a peer with only podSelector means pods of the policy's namespace; with only namespaceSelector,
 *   every pod of the matching namespaces; with both, the matching pods of the matching namespaces;
 *   ipBlock matches by address, minus `except`;
 * - a rule without `to`/`from` matches every peer; without `ports`, every port; a port's protocol
 *   defaults to TCP, and a named port is the destination pod's container port of that name;
 * - ingress from the pod's own node is always allowed (kubelet probes).
 * Policies only take effect where the network plugin enforces them; `enforced: false` models a
 * cluster whose plugin accepts but ignores them.
 */

export interface Labels {
  [key: string]: string;
}

export interface PodIdentity {
  namespace: string;
  labels: Labels;
  namespaceLabels: Labels;
  /** Container ports by name, for named ports in rules. */
  namedPorts?: Record<string, number>;
}

/** One end of a connection as a NetworkPolicy sees it. */
export interface PolicyPeer {
  ip: string;
  pod?: PodIdentity;
  /** Ingress only: the connection comes from the destination pod's own node. */
  fromLocalNode?: boolean;
}

export interface Policy {
  name: string;
  namespace: string;
  // biome-ignore lint/suspicious/noExplicitAny: a NetworkPolicySpec as registered.
  spec: any;
}

export function policiesOf(graph: ResourceGraph): Policy[] {
  return graph.ofType(T.networkPolicy).map((resource) => ({
    name: resource.inputs.metadata?.name ?? resource.name,
    namespace: resource.inputs.metadata?.namespace ?? 'default',
    spec: resource.inputs.spec ?? {},
  }));
}

interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expression.key);
    const value = labels[expression.key];
    const values = expression.values ?? [];
    if (expression.operator === 'In' && !(has && values.includes(value as string))) return false;
    if (expression.operator === 'NotIn' && has && values.includes(value as string)) return false;
    if (expression.operator === 'Exists' && !has) return false;
    if (expression.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function policyTypes(spec: Policy['spec']): string[] {
  if (Array.isArray(spec.policyTypes) && spec.policyTypes.length > 0) return spec.policyTypes;
  return spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

function selecting(policies: readonly Policy[], pod: PodIdentity, type: 'Ingress' | 'Egress'): Policy[] {
  return policies.filter(
    (policy) =>
      policy.namespace === pod.namespace &&
      selectorMatches(policy.spec.podSelector, pod.labels) &&
      policyTypes(policy.spec).includes(type),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: one NetworkPolicyPeer.
function peerMatches(peer: any, policyNamespace: string, other: PolicyPeer): boolean {
  if (peer.ipBlock) {
    const { cidr, except = [] } = peer.ipBlock as { cidr: string; except?: string[] };
    return cidrContains(cidr, other.ip) && !except.some((block) => cidrContains(block, other.ip));
  }
  if (!other.pod) return false;
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, other.pod.namespaceLabels)) return false;
  } else if (other.pod.namespace !== policyNamespace) {
    return false;
  }
  return selectorMatches(peer.podSelector, other.pod.labels);
}

function portMatches(
  // biome-ignore lint/suspicious/noExplicitAny: the `ports` of one rule.
  ports: any[] | undefined,
  port: number,
  protocol: Protocol,
  destination?: PodIdentity,
): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((entry) => {
    if (String(entry.protocol ?? 'TCP').toLowerCase() !== protocol) return false;
    if (entry.port === undefined) return true;
    const number = typeof entry.port === 'number' ? entry.port : destination?.namedPorts?.[entry.port];
    if (number === undefined) return false;
    return entry.endPort ? port >= number && port <= entry.endPort : port === number;
  });
}

export type PolicyVerdict = { allowed: true; by: string } | { allowed: false; reason: string };

/** May `from` (a pod) open a connection to `to` on `port`? */
export function egressVerdict(
  policies: readonly Policy[],
  from: PodIdentity,
  to: PolicyPeer,
  port: number,
  protocol: Protocol,
): PolicyVerdict {
  const applying = selecting(policies, from, 'Egress');
  if (applying.length === 0) return { allowed: true, by: 'no policy isolates it for egress' };
  for (const policy of applying) {
    for (const rule of policy.spec.egress ?? []) {
      const peers = rule.to ?? [];
      const peerOk =
        peers.length === 0 || peers.some((peer: unknown) => peerMatches(peer, policy.namespace, to));
      if (peerOk && portMatches(rule.ports, port, protocol, to.pod)) {
        return { allowed: true, by: `NetworkPolicy ${policy.namespace}/${policy.name}` };
      }
    }
  }
  const names = applying.map((policy) => `${policy.namespace}/${policy.name}`).join(', ');
  return {
    allowed: false,
    reason: `NetworkPolicy ${names} isolates it for egress and no rule allows ${protocol}/${port} to ${to.ip}`,
  };
}

/** May `to` (a pod) accept a connection from `from` on `port`? */
export function ingressVerdict(
  policies: readonly Policy[],
  to: PodIdentity,
  from: PolicyPeer,
  port: number,
  protocol: Protocol,
): PolicyVerdict {
  if (from.fromLocalNode) return { allowed: true, by: "the pod's own node is always allowed" };
  const applying = selecting(policies, to, 'Ingress');
  if (applying.length === 0) return { allowed: true, by: 'no policy isolates it for ingress' };
  for (const policy of applying) {
    for (const rule of policy.spec.ingress ?? []) {
      const peers = rule.from ?? [];
      const peerOk =
        peers.length === 0 || peers.some((peer: unknown) => peerMatches(peer, policy.namespace, from));
      if (peerOk && portMatches(rule.ports, port, protocol, to)) {
        return { allowed: true, by: `NetworkPolicy ${policy.namespace}/${policy.name}` };
      }
    }
  }
  const names = applying.map((policy) => `${policy.namespace}/${policy.name}`).join(', ');
  const source = from.pod ? `pods of namespace ${from.pod.namespace}` : from.ip;
  return {
    allowed: false,
    reason: `NetworkPolicy ${names} isolates it for ingress and no rule admits ${source} on ${protocol}/${port}`,
  };
}
