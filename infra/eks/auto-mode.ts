import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { EksConfig } from '../config/eks.js';

/**
 * EKS Auto Mode's nodes for the servers: a NodeClass and a NodePool of the program's own, instead of
 * the built-in `general-purpose` pool, for two reasons.
 * - NetworkPolicies are enforced on Auto Mode only with the `amazon-vpc-cni` ConfigMap's
 *   `enable-network-policy-controller: "true"` and a NodeClass with `networkPolicy` ("Use Network
 *   Policies with EKS Auto Mode", EKS user guide): on the built-in NodeClass every policy of the
 *   program would be accepted and ignored (finding 25).
 * - The NodePool's limits cap what Auto Mode may launch, and the capacity check holds the servers'
 *   maximum against them.
 * The built-in `system` pool stays for CoreDNS and the other cluster components (its nodes are
 * tainted CriticalAddonsOnly, so servers never land there).
 */

const NODE_CLASS = 'mcp-fleet';
const NODE_POOL = 'mcp-fleet';
const MANAGED = 'arn:aws:iam::aws:policy';

export interface AutoModeArgs {
  clusterName: pulumi.Input<string>;
  /** Nodes go to these private subnets, with the cluster security group (as the built-in class does). */
  subnetIds: pulumi.Input<string>[];
  clusterSecurityGroupId: pulumi.Input<string>;
  nodePool: EksConfig['nodePool'];
  architecture: 'amd64' | 'arm64';
  provider: k8s.Provider;
  dependsOn: pulumi.Resource[];
  tags: Record<string, string>;
}

/** The NodePool, to which workloads must wait to be scheduled; and the enforcement switch. */
export function autoModeNodes(parent: pulumi.Resource, name: string, args: AutoModeArgs): pulumi.Resource[] {
  // A custom NodeClass needs its node role to have an access entry of type EC2 with the
  // AmazonEKSAutoNodePolicy ("Create a Node Class for Amazon EKS", EKS user guide).
  const role = new aws.iam.Role(
    `${name}-pool-node-role`,
    {
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'ec2.amazonaws.com' },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
          },
        ],
      }),
      tags: args.tags,
    },
    { parent },
  );
  const attachments = ['AmazonEKSWorkerNodeMinimalPolicy', 'AmazonEC2ContainerRegistryPullOnly'].map(
    (policy) =>
      new aws.iam.RolePolicyAttachment(
        `${name}-pool-node-role-${policy}`,
        { role: role.name, policyArn: `${MANAGED}/${policy}` },
        { parent },
      ),
  );
  const entry = new aws.eks.AccessEntry(
    `${name}-pool-nodes`,
    { clusterName: args.clusterName, principalArn: role.arn, type: 'EC2', tags: args.tags },
    { parent, dependsOn: args.dependsOn },
  );
  const access = new aws.eks.AccessPolicyAssociation(
    `${name}-pool-nodes`,
    {
      clusterName: args.clusterName,
      principalArn: role.arn,
      policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy',
      accessScope: { type: 'cluster' },
    },
    { parent, dependsOn: [entry] },
  );

  const inCluster = { parent, provider: args.provider, dependsOn: args.dependsOn };
  const cniConfig = new k8s.core.v1.ConfigMap(
    `${name}-vpc-cni-config`,
    {
      metadata: { name: 'amazon-vpc-cni', namespace: 'kube-system' },
      data: { 'enable-network-policy-controller': 'true' },
    },
    inCluster,
  );
  const nodeClass = new k8s.apiextensions.CustomResource(
    `${name}-node-class`,
    {
      apiVersion: 'eks.amazonaws.com/v1',
      kind: 'NodeClass',
      metadata: { name: NODE_CLASS },
      spec: {
        role: role.name,
        subnetSelectorTerms: args.subnetIds.map((id) => ({ id })),
        securityGroupSelectorTerms: [{ id: args.clusterSecurityGroupId }],
        // Pods without a policy keep talking; the program's own policies isolate its servers.
        networkPolicy: 'DefaultAllow',
        networkPolicyEventLogs: 'Disabled',
      },
    },
    { ...inCluster, dependsOn: [...args.dependsOn, access, ...attachments, cniConfig] },
  );
  const nodePool = new k8s.apiextensions.CustomResource(
    `${name}-node-pool`,
    {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name: NODE_POOL },
      spec: {
        template: {
          spec: {
            nodeClassRef: { group: 'eks.amazonaws.com', kind: 'NodeClass', name: NODE_CLASS },
            requirements: [
              { key: 'karpenter.sh/capacity-type', operator: 'In', values: [args.nodePool.capacityType] },
              { key: 'kubernetes.io/arch', operator: 'In', values: [args.architecture] },
              { key: 'eks.amazonaws.com/instance-category', operator: 'In', values: ['c', 'm', 'r'] },
            ],
            // Nodes are replaced at least every 14 days (Auto Mode's own maximum is 21).
            expireAfter: '336h',
          },
        },
        limits: { cpu: String(args.nodePool.cpu), memory: `${args.nodePool.memoryGiB}Gi` },
        // Consolidation evicts pods, and with them their SSE streams: only empty nodes are removed,
        // and at most one node at a time is disrupted ("Disruption", Karpenter docs).
        disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: '5m', budgets: [{ nodes: '1' }] },
      },
    },
    { ...inCluster, dependsOn: [nodeClass] },
  );
  return [nodePool, cniConfig];
}
