import { isDeepStrictEqual } from 'node:util';
import { label, type Resource, type ResourceGraph, T } from './graph.js';

/**
 * What a config change does to resources that already exist: kept, updated in place, replaced, or
 * deleted (a resource whose type and name disappear is deleted, and a new one created under the
 * new name: a rename is a replacement). Which inputs force a replacement is the provider's schema;
 * each entry cites the resource's source in terraform-provider-aws, which pulumi-aws bridges.
 */

/** Input paths (top-level keys) whose change replaces the resource. `*` means every input except tags. */
const REPLACED_ON: Record<string, readonly string[]> = {
  // internal/service/iam/role_policy_attachment.go: role, policy_arn ForceNew.
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment': ['role', 'policyArn'],
  // internal/service/eks/access_entry.go: cluster_name, principal_arn, type ForceNew.
  'aws:eks/accessEntry:AccessEntry': ['clusterName', 'principalArn', 'type'],
  // internal/service/eks/access_policy_association.go: every argument ForceNew.
  'aws:eks/accessPolicyAssociation:AccessPolicyAssociation': [
    'clusterName',
    'principalArn',
    'policyArn',
    'accessScope',
  ],
  // internal/service/elbv2/listener_rule.go: listener_arn ForceNew; priority "ForceNew: false".
  'aws:lb/listenerRule:ListenerRule': ['listenerArn'],
  // internal/service/ecs/task_definition.go: every argument but tags ForceNew (a new revision).
  'aws:ecs/taskDefinition:TaskDefinition': ['*'],
  // internal/service/ec2/vpc_security_group.go: name, name_prefix, vpc_id, description ForceNew.
  'aws:ec2/securityGroup:SecurityGroup': ['name', 'namePrefix', 'vpcId', 'description'],
  // internal/service/ec2/vpc_security_group_ingress_rule.go (and egress): security_group_id RequiresReplace.
  'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule': ['securityGroupId'],
  'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule': ['securityGroupId'],
  // internal/service/eks/cluster.go: name, role_arn, bootstrap_self_managed_addons ForceNew; version updates in place.
  'aws:eks/cluster:Cluster': ['name', 'roleArn', 'bootstrapSelfManagedAddons'],
  // internal/service/eks/node_group.go: cluster_name, node_group_name, node_role_arn, subnet_ids, ami_type,
  // capacity_type, instance_types ForceNew; version and release_version update in place (a rolling upgrade).
  'aws:eks/nodeGroup:NodeGroup': [
    'clusterName',
    'nodeGroupName',
    'nodeRoleArn',
    'subnetIds',
    'amiType',
    'capacityType',
    'instanceTypes',
  ],
  // internal/service/eks/addon.go: cluster_name, addon_name ForceNew; addon_version updates in place.
  'aws:eks/addon:Addon': ['clusterName', 'addonName'],
  // pulumi-kubernetes helm/v3 Release: a new release name or namespace is another release (replaced).
  'kubernetes:helm.sh/v3:Release': ['name', 'namespace'],
};

/**
 * Kubernetes objects are identified by namespace and name: pulumi-kubernetes replaces an object whose
 * `metadata.name` or `metadata.namespace` changes (pulumi/pulumi-kubernetes autonaming tests: "User has now
 * specified `.metadata.name`, so Pulumi should replace the resource").
 */
function kubernetesReplacement(before: Resource, after: Resource): string[] {
  const changed: string[] = [];
  for (const key of ['name', 'namespace']) {
    if (before.inputs.metadata?.[key] !== after.inputs.metadata?.[key]) changed.push(`metadata.${key}`);
  }
  return changed;
}

const METADATA = new Set(['tags', 'tagsAll']);

export interface Churn {
  /** Existing resources that are gone (deleted, or renamed, which is delete + create). */
  deleted: string[];
  /** Existing resources the update replaces, with the inputs that force it. */
  replaced: string[];
  /** Existing resources whose inputs change and whose type the model has no replacement rule for. */
  unmodelled: string[];
}

/** Custom resources only: components and providers have no cloud object to replace. */
function isCloudResource(resource: Resource): boolean {
  return (
    !resource.type.startsWith('pulumi:providers:') &&
    resource.type.split(':').length === 3 &&
    !resource.type.startsWith('mcp-fleet:')
  );
}

/** `value` (the input `key`) without the nested paths `ignoreChanges` names (`scalingConfig.desiredSize`). */
function withoutIgnored(value: unknown, key: string, ignored: ReadonlySet<string>): unknown {
  const nested = [...ignored]
    .filter((path) => path.startsWith(`${key}.`))
    .map((path) => path.slice(key.length + 1));
  if (nested.length === 0 || !value || typeof value !== 'object') return value;
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const path of nested) {
    const parts = path.split('.');
    let target: Record<string, unknown> | undefined = copy;
    for (const part of parts.slice(0, -1)) target = target?.[part] as Record<string, unknown> | undefined;
    if (target) delete target[parts.at(-1) as string];
  }
  return copy;
}

export function churn(before: ResourceGraph, after: ResourceGraph): Churn {
  const result: Churn = { deleted: [], replaced: [], unmodelled: [] };
  for (const old of before.resources.filter(isCloudResource)) {
    const current = after.find(old.type, old.name);
    if (!current) {
      result.deleted.push(label(old));
      continue;
    }
    // What the program told the engine to ignore never changes anything (`ignoreChanges`).
    const ignored = new Set(current.ignoreChanges ?? []);
    const changed = Object.keys({ ...old.inputs, ...current.inputs }).filter(
      (key) =>
        !METADATA.has(key) &&
        !ignored.has(key) &&
        !isDeepStrictEqual(
          withoutIgnored(old.inputs[key], key, ignored),
          withoutIgnored(current.inputs[key], key, ignored),
        ),
    );
    if (changed.length === 0) continue;
    if (old.type.startsWith('kubernetes:') && !REPLACED_ON[old.type]) {
      const forcing = kubernetesReplacement(old, current);
      if (forcing.length > 0) result.replaced.push(`${label(old)} (${forcing.join(', ')})`);
      continue;
    }
    const rule = REPLACED_ON[old.type];
    if (!rule) {
      result.unmodelled.push(`${label(old)} (${changed.join(', ')})`);
      continue;
    }
    const forcing = rule.includes('*') ? changed : changed.filter((key) => rule.includes(key));
    if (forcing.length > 0) {
      const detail = forcing.map(
        (key) => `${key}: ${JSON.stringify(old.inputs[key])} → ${JSON.stringify(current.inputs[key])}`,
      );
      result.replaced.push(`${label(old)} (${detail.join('; ')})`);
    }
  }
  return result;
}

/** ALB listener rules that exist before and after and change priority. */
export function priorityMoves(before: ResourceGraph, after: ResourceGraph): string[] {
  const moves: string[] = [];
  for (const rule of before.ofType(T.listenerRule)) {
    const current = after.find(T.listenerRule, rule.name);
    if (current && current.inputs.priority !== rule.inputs.priority) {
      moves.push(`${label(rule)}: priority ${rule.inputs.priority} → ${current.inputs.priority}`);
    }
  }
  return moves;
}
