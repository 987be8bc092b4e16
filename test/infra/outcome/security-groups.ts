import { cidrContains } from './cidr.js';
import { label, type ResourceGraph, T } from './graph.js';

/**
 * Security groups as the VPC applies them
 * (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html):
 * - rules only allow; "If your security group has no outbound rules, no outbound traffic is allowed";
 * - the rules of every group on a network interface are aggregated: one match in any group allows;
 * - a rule names a CIDR, a prefix list, or another security group ("the rule affects all resources
 *   associated with the referenced group", by their private addresses);
 * - groups are stateful: replies to an allowed connection pass, so only the opening direction counts.
 *
 * AWS gives a new VPC security group an allow-all egress rule, but "When creating a new Security Group
 * inside a VPC, this provider will remove this default rule" (node_modules/@pulumi/aws/ec2/securityGroup.d.ts),
 * so a group the program creates has exactly the rules the program declares: inline `ingress`/`egress`,
 * standalone `aws.vpc.SecurityGroupIngressRule`/`EgressRule` and `aws.ec2.SecurityGroupRule`.
 */

export type Direction = 'ingress' | 'egress';
export type Protocol = 'tcp' | 'udp';

export interface SgRule {
  direction: Direction;
  /** `-1` is every protocol (and every port). */
  protocol: Protocol | 'icmp' | '-1';
  fromPort: number;
  toPort: number;
  cidr?: string;
  /** The security group on the other end of the connection. */
  securityGroupId?: string;
  prefixListId?: string;
  /** Where the rule comes from, for messages. */
  origin: string;
}

/** The far end of a connection, as a security group rule sees it. */
export interface Peer {
  ip: string;
  securityGroupIds: readonly string[];
  /** The prefix list of a gateway endpoint the traffic is routed to. */
  prefixListId?: string;
}

/** Security groups the program does not create but relies on (the EKS cluster group), with their rules. */
export interface ExternalGroup {
  id: string;
  name: string;
  rules: SgRule[];
}

function normaliseProtocol(raw: unknown): SgRule['protocol'] {
  const text = String(raw ?? '-1').toLowerCase();
  if (text === '-1' || text === 'all') return '-1';
  if (text === '6') return 'tcp';
  if (text === '17') return 'udp';
  if (text === '1') return 'icmp';
  return text as SgRule['protocol'];
}

// biome-ignore lint/suspicious/noExplicitAny: one inline rule block of aws.ec2.SecurityGroup.
function inlineRules(direction: Direction, groupId: string, block: any, origin: string): SgRule[] {
  const base = {
    direction,
    protocol: normaliseProtocol(block.protocol),
    fromPort: Number(block.fromPort ?? 0),
    toPort: Number(block.toPort ?? 65535),
    origin,
  };
  return [
    ...(block.cidrBlocks ?? []).map((cidr: string) => ({ ...base, cidr })),
    ...(block.securityGroups ?? []).map((id: string) => ({ ...base, securityGroupId: id })),
    ...(block.prefixListIds ?? []).map((id: string) => ({ ...base, prefixListId: id })),
    ...(block.self ? [{ ...base, securityGroupId: groupId }] : []),
  ];
}

/** Every rule of one security group, wherever the program declared it. */
export function rulesOf(
  graph: ResourceGraph,
  groupId: string,
  external: readonly ExternalGroup[] = [],
): SgRule[] {
  const rules: SgRule[] = [];
  for (const group of external) if (group.id === groupId) rules.push(...group.rules);
  const group = graph.byRef(T.securityGroup, groupId);
  if (group) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const block of group.inputs[direction] ?? []) {
        rules.push(...inlineRules(direction, groupId, block, `${label(group)} inline ${direction}`));
      }
    }
  }
  for (const type of [T.ingressRule, T.egressRule] as const) {
    for (const rule of graph.ofType(type)) {
      if (rule.inputs.securityGroupId !== groupId) continue;
      const protocol = normaliseProtocol(rule.inputs.ipProtocol);
      rules.push({
        direction: type === T.ingressRule ? 'ingress' : 'egress',
        protocol,
        fromPort: protocol === '-1' ? 0 : Number(rule.inputs.fromPort),
        toPort: protocol === '-1' ? 65535 : Number(rule.inputs.toPort),
        cidr: rule.inputs.cidrIpv4,
        securityGroupId: rule.inputs.referencedSecurityGroupId,
        prefixListId: rule.inputs.prefixListId,
        origin: label(rule),
      });
    }
  }
  for (const rule of graph.ofType(T.securityGroupRule)) {
    if (rule.inputs.securityGroupId !== groupId) continue;
    const block = {
      ...rule.inputs,
      securityGroups: rule.inputs.sourceSecurityGroupId ? [rule.inputs.sourceSecurityGroupId] : [],
    };
    rules.push(...inlineRules(rule.inputs.type, groupId, block, label(rule)));
  }
  return rules;
}

function matches(rule: SgRule, peer: Peer, port: number, protocol: Protocol): boolean {
  if (rule.protocol !== '-1' && (rule.protocol !== protocol || port < rule.fromPort || port > rule.toPort)) {
    return false;
  }
  if (rule.cidr !== undefined) return cidrContains(rule.cidr, peer.ip);
  if (rule.securityGroupId !== undefined) return peer.securityGroupIds.includes(rule.securityGroupId);
  if (rule.prefixListId !== undefined) return rule.prefixListId === peer.prefixListId;
  return false;
}

/**
 * Whether the groups on one interface let a connection out (`egress`, to `peer`) or in (`ingress`,
 * from `peer`). Returns the rule that allows it, or undefined.
 */
export function allowingRule(
  graph: ResourceGraph,
  groupIds: readonly string[],
  direction: Direction,
  peer: Peer,
  port: number,
  protocol: Protocol,
  external: readonly ExternalGroup[] = [],
): SgRule | undefined {
  for (const groupId of groupIds) {
    const rule = rulesOf(graph, groupId, external).find(
      (candidate) => candidate.direction === direction && matches(candidate, peer, port, protocol),
    );
    if (rule) return rule;
  }
  return undefined;
}
