import { cidrContains } from './cidr.js';
import type { ResourceGraph } from './graph.js';
import { egressVerdict, ingressVerdict, type PodIdentity, type Policy } from './network-policy.js';
import { isPublicSubnet, pathToInternet, serviceTarget, vpcCidrOf } from './routing.js';
import { allowingRule, type ExternalGroup, type Protocol } from './security-groups.js';

/**
 * "Can A open a TCP (or UDP) connection to B on port P": every layer AWS and Kubernetes put in the
 * way, in the order a SYN meets them. The pod's NetworkPolicies (egress), the sender's security
 * groups (egress), the route from the sender's subnet, the receiver's security groups (ingress),
 * the receiver's NetworkPolicies (ingress). The first layer that drops it is the answer's reason.
 * A proxy in between (a load balancer, an ingress controller) is two connections: check each.
 */

/** A network interface in the VPC. */
export interface Interface {
  subnetId: string;
  ip: string;
  securityGroupIds: string[];
  /** Only addresses with a public IP send or receive through an internet gateway. */
  publicIp: boolean;
  /** A Network Load Balancer without security groups: "all traffic can leave" it (ELB docs, NLB security groups). */
  unfiltered?: boolean;
}

export interface Endpoint {
  name: string;
  eni?: Interface;
  /** A Kubernetes pod (NetworkPolicies apply); it also has the `eni` of its node (VPC CNI: pods share the node's security groups). */
  pod?: PodIdentity & { node: string };
  /** A node itself (kubelet, kube-proxy, host-network daemons). */
  host?: { node: string };
  /** A listener on a node's host network at a link-local address (the Pod Identity agent): pods on that node reach it without leaving the node. */
  nodeLocal?: { ip: string; node: string };
  /** A host outside the VPC. */
  internet?: { ip: string };
  /** An AWS service, by its endpoint name (`secretsmanager`, `ecr.dkr`, `logs`…). */
  awsService?: { service: string; region: string };
}

export interface NetworkModel {
  graph: ResourceGraph;
  /** Security groups the program relies on but does not create (the EKS cluster group). */
  externalGroups: ExternalGroup[];
  policies: Policy[];
  /** Whether the cluster's network plugin enforces NetworkPolicies. */
  policiesEnforced: boolean;
}

export type Connection = { ok: true; path: string[] } | { ok: false; path: string[]; reason: string };

interface Target {
  ip: string;
  /** Inside the sender's VPC (local route, security groups by reference apply). */
  local: boolean;
  eni?: Interface;
  prefixListId?: string;
  /** Routed through a gateway endpoint rather than NAT. */
  gateway?: string;
  description: string;
}

function resolveTarget(model: NetworkModel, from: Endpoint, to: Endpoint): Target | string {
  if (to.awsService) {
    if (!from.eni)
      return { ip: '192.0.2.10', local: false, description: `${to.awsService.service} (public endpoint)` };
    const target = serviceTarget(model.graph, from.eni.subnetId, to.awsService.region, to.awsService.service);
    if (target.kind === 'interface-endpoint') {
      return {
        ip: target.ip,
        local: true,
        eni: {
          subnetId: target.subnetId,
          ip: target.ip,
          securityGroupIds: target.securityGroupIds,
          publicIp: false,
        },
        description: `${to.awsService.service} through ${target.endpoint}`,
      };
    }
    if (target.kind === 'gateway-endpoint') {
      return {
        ip: target.ip,
        local: false,
        prefixListId: target.prefixListId,
        gateway: target.endpoint,
        description: `${to.awsService.service} through ${target.endpoint}`,
      };
    }
    return { ip: target.ip, local: false, description: `${to.awsService.service} (public endpoint)` };
  }
  if (to.internet) return { ip: to.internet.ip, local: false, description: to.name };
  if (to.eni) {
    const local = from.eni ? cidrContains(vpcCidrOf(model.graph, from.eni.subnetId), to.eni.ip) : false;
    return { ip: to.eni.ip, local, eni: to.eni, description: to.name };
  }
  return `${to.name} has no address the model can route to`;
}

export function connect(
  model: NetworkModel,
  from: Endpoint,
  to: Endpoint,
  port: number,
  protocol: Protocol = 'tcp',
): Connection {
  const path: string[] = [];
  const fail = (reason: string): Connection => ({
    ok: false,
    path,
    reason: `${from.name} → ${to.name} ${protocol}/${port}: ${reason}`,
  });
  const { graph, externalGroups, policies } = model;

  // A link-local listener on the host network: reachable only from pods on that node, and only the
  // pod's egress policy stands in the way (the packet never leaves the node, so no security group sees it).
  if (to.nodeLocal) {
    if (!from.pod || from.pod.node !== to.nodeLocal.node)
      return fail('a node-local address is only reachable from pods on that node');
    if (model.policiesEnforced) {
      const verdict = egressVerdict(policies, from.pod, { ip: to.nodeLocal.ip }, port, protocol);
      if (!verdict.allowed) return fail(verdict.reason);
      path.push(`egress allowed by ${verdict.by}`);
    }
    path.push(`host network of ${to.nodeLocal.node}`);
    return { ok: true, path };
  }

  const target = resolveTarget(model, from, to);
  if (typeof target === 'string') return fail(target);

  if (from.pod && model.policiesEnforced) {
    const verdict = egressVerdict(policies, from.pod, { ip: target.ip, pod: to.pod }, port, protocol);
    if (!verdict.allowed) return fail(verdict.reason);
    path.push(`pod egress allowed by ${verdict.by}`);
  }

  if (from.eni?.unfiltered) {
    path.push(`${from.name} has no security group`);
    if (!target.local) return fail('a load balancer forwards only to targets in its VPC');
  } else if (from.eni) {
    const peer = {
      ip: target.ip,
      securityGroupIds: target.local ? (target.eni?.securityGroupIds ?? []) : [],
      prefixListId: target.prefixListId,
    };
    const rule = allowingRule(
      graph,
      from.eni.securityGroupIds,
      'egress',
      peer,
      port,
      protocol,
      externalGroups,
    );
    if (!rule) {
      return fail(
        `no egress rule of security group ${from.eni.securityGroupIds.join(', ') || '(none)'} allows ${protocol}/${port} to ${target.description}`,
      );
    }
    path.push(`egress allowed by ${rule.origin}`);
    if (target.local) {
      path.push('local route');
    } else if (target.gateway) {
      path.push(`route to ${target.gateway}`);
    } else {
      const route = pathToInternet(graph, from.eni.subnetId, target.ip, from.eni.publicIp);
      if (!route.ok) return fail(route.reason);
      path.push(`out through ${route.via}`);
    }
  } else if (target.eni) {
    if (!target.eni.publicIp || !isPublicSubnet(graph, target.eni.subnetId)) {
      return fail(`${to.name} has no public address in a public subnet`);
    }
    path.push('in through the internet gateway');
  }

  if (target.eni) {
    const source = {
      ip: from.eni?.ip ?? from.internet?.ip ?? '0.0.0.0',
      securityGroupIds: target.local ? (from.eni?.securityGroupIds ?? []) : [],
    };
    const rule = allowingRule(
      graph,
      target.eni.securityGroupIds,
      'ingress',
      source,
      port,
      protocol,
      externalGroups,
    );
    if (!rule) {
      return fail(
        `no ingress rule of security group ${target.eni.securityGroupIds.join(', ') || '(none)'} admits ${from.name} on ${protocol}/${port}`,
      );
    }
    path.push(`ingress allowed by ${rule.origin}`);
  }

  if (to.pod && model.policiesEnforced) {
    const fromLocalNode = from.host !== undefined && from.host.node === to.pod.node;
    const verdict = ingressVerdict(
      policies,
      to.pod,
      { ip: from.eni?.ip ?? from.internet?.ip ?? '0.0.0.0', pod: from.pod, fromLocalNode },
      port,
      protocol,
    );
    if (!verdict.allowed) return fail(verdict.reason);
    path.push(`pod ingress allowed by ${verdict.by}`);
  }
  return { ok: true, path };
}
