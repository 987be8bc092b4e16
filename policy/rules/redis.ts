import {
  asArray,
  asRecord,
  isTrue,
  type PolicyInput,
  type StackInput,
  WORLD_IPV4,
  WORLD_IPV6,
} from './resource.js';

/** The session store holds every session record and the AUTH token guards it: TLS, encryption at rest, no public path. */

export const REPLICATION_GROUP = 'aws:elasticache/replicationGroup:ReplicationGroup';
const SECURITY_GROUP = 'aws:ec2/securityGroup:SecurityGroup';
const INGRESS_RULE = 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule';
const LEGACY_RULE = 'aws:ec2/securityGroupRule:SecurityGroupRule';

/** Resource check: the replication group encrypts in transit (TLS required) and at rest. */
export function redisEncryption(resource: PolicyInput): string[] {
  if (resource.type !== REPLICATION_GROUP) return [];
  const at = `ElastiCache replication group ${resource.name}`;
  const problems: string[] = [];
  if (!isTrue(resource.props.transitEncryptionEnabled)) {
    problems.push(
      `${at}: transitEncryptionEnabled must be true, or sessions and the AUTH token cross the VPC in clear text`,
    );
  } else if (resource.props.transitEncryptionMode === 'preferred') {
    problems.push(
      `${at}: transitEncryptionMode "preferred" still accepts clear-text clients; use "required"`,
    );
  }
  if (!isTrue(resource.props.atRestEncryptionEnabled)) {
    problems.push(
      `${at}: atRestEncryptionEnabled must be true, or snapshots and swap hold session data unencrypted`,
    );
  }
  return problems;
}

export interface StackViolation {
  urn: string;
  message: string;
}

/**
 * Stack check: no security group of a replication group admits 0.0.0.0/0 or ::/0, whether through an
 * inline `ingress` block, an aws.vpc.SecurityGroupIngressRule or an aws.ec2.SecurityGroupRule.
 * Links are followed through property dependencies (known even in a first preview, when ids are
 * not) and otherwise through ids.
 */
export function redisNotOpenToWorld(resources: StackInput[]): StackViolation[] {
  const violations: StackViolation[] = [];
  const groups = resources.filter((resource) => resource.type === REPLICATION_GROUP);
  const securityGroups = resources.filter((resource) => resource.type === SECURITY_GROUP);
  for (const group of groups) {
    const at = `ElastiCache replication group ${group.name}`;
    const own = securityGroups.filter((sg) => refersTo(group, 'securityGroupIds', sg));
    if (own.length === 0 && !hasDependencies(group, 'securityGroupIds')) {
      violations.push({
        urn: group.urn,
        message: `${at}: has no security group of this stack, so its reachability cannot be checked; give it one that admits only the servers`,
      });
    }
    for (const sg of own) {
      const inline = asArray(sg.props.ingress).map(asRecord);
      if (inline.some((rule) => rule && opensToWorld(rule.cidrBlocks, rule.ipv6CidrBlocks))) {
        violations.push({
          urn: sg.urn,
          message: worldOpen(at, `security group ${sg.name} (inline ingress)`),
        });
      }
      for (const rule of resources) {
        if (!refersTo(rule, 'securityGroupId', sg)) continue;
        const open =
          (rule.type === INGRESS_RULE && opensToWorld([rule.props.cidrIpv4], [rule.props.cidrIpv6])) ||
          (rule.type === LEGACY_RULE &&
            rule.props.type === 'ingress' &&
            opensToWorld(rule.props.cidrBlocks, rule.props.ipv6CidrBlocks));
        if (open) violations.push({ urn: rule.urn, message: worldOpen(at, `rule ${rule.name}`) });
      }
    }
  }
  return violations;
}

function worldOpen(at: string, where: string): string {
  return `${at}: ${where} admits the whole internet (0.0.0.0/0 or ::/0); admit only the servers' security groups`;
}

function opensToWorld(ipv4: unknown, ipv6: unknown): boolean {
  return (
    asArray(ipv4).some((block) => block === WORLD_IPV4) || asArray(ipv6).some((block) => block === WORLD_IPV6)
  );
}

function hasDependencies(resource: StackInput, property: string): boolean {
  return (resource.propertyDependencies?.[property]?.length ?? 0) > 0;
}

/** Whether `resource.property` was built from `target`: by dependency when the engine recorded one, else by id. */
function refersTo(resource: StackInput, property: string, target: StackInput): boolean {
  const dependencies = resource.propertyDependencies?.[property];
  if (dependencies && dependencies.length > 0) return dependencies.includes(target.urn);
  if (target.id === undefined || !(property in resource.props)) return false;
  const value = resource.props[property];
  return Array.isArray(value) ? value.includes(target.id) : value === target.id;
}
