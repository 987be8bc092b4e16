import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { StackConfig } from '../config.js';
import { nameFor } from '../shared/names.js';

export interface EksClusterArgs {
  /** The cluster's name in AWS (fixed, so the control-plane log group can be created first). */
  clusterName: string;
  /** EKS settings from the stack's `eks` key. */
  eks: StackConfig['eks'];
  /** Node architecture; must match the image platform. */
  architecture: 'x86_64' | 'arm64';
  /** Private subnets for nodes and the control plane's network interfaces. */
  subnetIds: pulumi.Input<string>[];
  logRetentionDays: number;
  deletionProtection: boolean;
  /** Resolves once `eks.compute` is known not to switch an existing cluster (compute-guard.ts). */
  computeChecked: pulumi.Input<string>;
  tags: Record<string, string>;
}

const MANAGED = 'arn:aws:iam::aws:policy';
/** Every control-plane log type: API calls and audit trails are what an incident review needs. */
export const CONTROL_PLANE_LOGS = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];

/**
 * An EKS cluster from plain aws resources: API-only authentication with explicit access entries,
 * KMS envelope encryption of Secrets, every control-plane log, and compute from either an AL2023
 * managed node group or EKS Auto Mode.
 */
export class EksCluster extends pulumi.ComponentResource {
  readonly cluster: aws.eks.Cluster;
  /** The security group EKS gives nodes and pods; Redis admits it. */
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  /** What Kubernetes resources must wait for: nodes to schedule onto. */
  readonly compute: pulumi.Resource[];
  /** The access policies of the admin, CI and preview roles: Kubernetes calls wait for them. */
  readonly access: pulumi.Resource[];
  /** The node IAM role (Auto Mode's built-in pools use it). */
  readonly nodeRoleName: pulumi.Output<string>;

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:eks:EksCluster', name, {}, opts);
    const built = buildCluster(this, name, args);
    this.cluster = built.cluster;
    this.clusterSecurityGroupId = built.cluster.vpcConfig.clusterSecurityGroupId;
    this.compute = built.compute;
    this.access = built.access;
    this.nodeRoleName = built.nodeRoleName;
    this.registerOutputs({ clusterName: built.cluster.name });
  }
}

function role(
  parent: pulumi.Resource,
  name: string,
  service: string,
  policies: string[],
  tags: Record<string, string>,
) {
  const created = new aws.iam.Role(
    name,
    {
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: service }, Action: ['sts:AssumeRole', 'sts:TagSession'] },
        ],
      }),
      tags,
    },
    { parent },
  );
  const attachments = policies.map(
    (policy) =>
      new aws.iam.RolePolicyAttachment(
        `${name}-${policy.split('/').pop()}`,
        { role: created.name, policyArn: policy },
        { parent },
      ),
  );
  return { role: created, attachments };
}

function buildCluster(parent: pulumi.Resource, name: string, args: EksClusterArgs) {
  const auto = args.eks.compute === 'auto';
  const clusterRole = role(
    parent,
    `${name}-cluster-role`,
    'eks.amazonaws.com',
    [
      `${MANAGED}/AmazonEKSClusterPolicy`,
      ...(auto
        ? [
            `${MANAGED}/AmazonEKSComputePolicy`,
            `${MANAGED}/AmazonEKSBlockStoragePolicy`,
            `${MANAGED}/AmazonEKSLoadBalancingPolicy`,
            `${MANAGED}/AmazonEKSNetworkingPolicy`,
          ]
        : []),
    ],
    args.tags,
  );
  const nodeRole = role(
    parent,
    `${name}-node-role`,
    'ec2.amazonaws.com',
    auto
      ? [`${MANAGED}/AmazonEKSWorkerNodeMinimalPolicy`, `${MANAGED}/AmazonEC2ContainerRegistryPullOnly`]
      : [
          `${MANAGED}/AmazonEKSWorkerNodePolicy`,
          `${MANAGED}/AmazonEC2ContainerRegistryPullOnly`,
          `${MANAGED}/AmazonEKS_CNI_Policy`,
        ],
    args.tags,
  );
  const secretsKey = new aws.kms.Key(
    `${name}-secrets-key`,
    {
      description: `Envelope encryption of Kubernetes Secrets in ${args.clusterName}`,
      enableKeyRotation: true,
      deletionWindowInDays: args.deletionProtection ? 30 : 7,
      tags: args.tags,
    },
    { parent },
  );
  // EKS writes to this group; creating it first is the only way to give it a retention.
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-control-plane`,
    { name: `/aws/eks/${args.clusterName}/cluster`, retentionInDays: args.logRetentionDays, tags: args.tags },
    { parent },
  );
  const { endpoint } = args.eks;
  const cluster = new aws.eks.Cluster(
    `${name}-cluster`,
    {
      name: args.clusterName,
      version: args.eks.version,
      roleArn: clusterRole.role.arn,
      accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false },
      enabledClusterLogTypes: CONTROL_PLANE_LOGS,
      encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ['secrets'] },
      vpcConfig: {
        subnetIds: args.subnetIds,
        endpointPrivateAccess: true,
        endpointPublicAccess: endpoint.publicAccess,
        publicAccessCidrs: endpoint.publicAccess ? endpoint.publicAccessCidrs : undefined,
      },
      deletionProtection: args.deletionProtection,
      ...(auto
        ? {
            bootstrapSelfManagedAddons: false,
            computeConfig: {
              enabled: true,
              // Servers run on the program's own NodePool (auto-mode.ts), whose NodeClass enforces
              // NetworkPolicies; `system` keeps the cluster's own components.
              nodePools: ['system'],
              nodeRoleArn: nodeRole.role.arn,
            },
            kubernetesNetworkConfig: { elasticLoadBalancing: { enabled: true } },
            storageConfig: { blockStorage: { enabled: true } },
          }
        : {}),
      // Nothing is created before the compute-mode check has passed.
      tags: pulumi.output(args.computeChecked).apply(() => args.tags),
    },
    { parent, dependsOn: [logGroup, ...clusterRole.attachments] },
  );

  const access = accessEntries(parent, name, cluster, args);

  const nodeRoleName = nodeRole.role.name;
  if (auto) return { cluster, compute: [cluster], access, nodeRoleName };
  const { nodeGroup } = args.eks;
  const nodes = new aws.eks.NodeGroup(
    `${name}-nodes`,
    {
      clusterName: cluster.name,
      nodeRoleArn: nodeRole.role.arn,
      subnetIds: args.subnetIds,
      amiType: args.architecture === 'arm64' ? 'AL2023_ARM_64_STANDARD' : 'AL2023_x86_64_STANDARD',
      instanceTypes: nodeGroup.instanceTypes,
      capacityType: nodeGroup.capacityType,
      // The nodes follow the control plane's minor: an `eks.version` bump rolls them onto its AMI.
      version: args.eks.version,
      scalingConfig: { minSize: nodeGroup.min, desiredSize: nodeGroup.desired, maxSize: nodeGroup.max },
      updateConfig: { maxUnavailable: 1 },
      tags: args.tags,
    },
    // The Cluster Autoscaler (cluster-autoscaler.ts) owns the desired size after creation.
    { parent, dependsOn: nodeRole.attachments, ignoreChanges: ['scalingConfig.desiredSize'] },
  );
  return { cluster, compute: [nodes], access, nodeRoleName };
}

const ACCESS_POLICY = 'arn:aws:eks::aws:cluster-access-policy';

/**
 * Access entries, named by the principal, never by list position: an entry renamed by a reorder would
 * be created (for the same principal, which EKS refuses) before the old one is deleted.
 * - Admins and CI's deploy role: cluster admin (`pulumi up` installs CRDs, namespaces, charts).
 * - CI's preview role: AmazonEKSAdminViewPolicy, reads including Secrets, where Helm keeps its
 *   releases. A preview's server-side dry run needs `patch` ("dry-run authorization", Kubernetes API
 *   concepts); without it pulumi-kubernetes falls back to a client-side diff (pulumi-kubernetes#2419),
 *   so a read-only role is enough and cannot change the cluster (finding 14).
 */
function accessEntries(
  parent: pulumi.Resource,
  name: string,
  cluster: aws.eks.Cluster,
  args: EksClusterArgs,
): pulumi.Resource[] {
  const admins = new Set([...args.eks.adminRoleArns, ...args.eks.ciRoleArns]);
  const grants = [
    ...[...admins].map((arn) => ({ arn, policy: 'AmazonEKSClusterAdminPolicy' })),
    ...args.eks.previewRoleArns
      .filter((arn) => !admins.has(arn))
      .map((arn) => ({ arn, policy: 'AmazonEKSAdminViewPolicy' })),
  ];
  return grants.map(({ arn, policy }) => {
    const label = `access-${nameFor(arn)}`;
    const entry = new aws.eks.AccessEntry(
      `${name}-${label}`,
      { clusterName: cluster.name, principalArn: arn, type: 'STANDARD', tags: args.tags },
      { parent },
    );
    return new aws.eks.AccessPolicyAssociation(
      `${name}-${label}`,
      {
        clusterName: cluster.name,
        principalArn: arn,
        policyArn: `${ACCESS_POLICY}/${policy}`,
        accessScope: { type: 'cluster' },
      },
      { parent, dependsOn: [entry] },
    );
  });
}
