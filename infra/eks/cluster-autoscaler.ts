import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { CLUSTER_AUTOSCALER_IMAGE_TAGS, PLATFORM_CHARTS } from '../config/eks.js';
import { type PodDemand, podResources } from './capacity.js';
import { installPlatformRelease, type PlatformTarget } from './platform-release.js';

/**
 * The Cluster Autoscaler on the managed node group: it adds a node when a pod stays Pending and
 * removes one that has been underused (kubernetes/autoscaler, cluster-autoscaler/cloudprovider/aws
 * README). It finds the group by the tags EKS puts on every managed node group's Auto Scaling
 * group, `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<cluster>` ("Managed
 * node groups", EKS user guide), and owns the desired size from then on.
 */

const NAMESPACE = 'kube-system';
const SERVICE_ACCOUNT = 'cluster-autoscaler';
/** What the autoscaler pod requests; counted in the capacity check. */
export const CLUSTER_AUTOSCALER_POD: PodDemand = {
  name: 'cluster-autoscaler',
  replicas: 1,
  cpuMilli: 100,
  memoryMiB: 300,
};

/**
 * The README's "full features" policy, with the two write actions limited to groups tagged for this
 * cluster (`aws:ResourceTag/k8s.io/cluster-autoscaler/<cluster>: owned`, which EKS sets).
 */
export function clusterAutoscalerPolicy(clusterName: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'autoscaling:DescribeAutoScalingGroups',
          'autoscaling:DescribeAutoScalingInstances',
          'autoscaling:DescribeLaunchConfigurations',
          'autoscaling:DescribeScalingActivities',
          'ec2:DescribeImages',
          'ec2:DescribeInstanceTypes',
          'ec2:DescribeLaunchTemplateVersions',
          'ec2:GetInstanceTypesFromInstanceRequirements',
          'eks:DescribeNodegroup',
        ],
        Resource: '*',
      },
      {
        Effect: 'Allow',
        Action: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
        Resource: '*',
        Condition: {
          StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: 'owned' },
        },
      },
    ],
  });
}

export interface ClusterAutoscalerArgs extends PlatformTarget {
  clusterName: string;
  kubernetesVersion: string;
}

export function installClusterAutoscaler(
  parent: pulumi.Resource,
  name: string,
  args: ClusterAutoscalerArgs,
): k8s.helm.v3.Release {
  const imageTag = CLUSTER_AUTOSCALER_IMAGE_TAGS[args.kubernetesVersion];
  if (!imageTag) {
    // The config check refuses such a version first; this guards a table edited without it.
    throw new Error(`no Cluster Autoscaler release pinned for Kubernetes ${args.kubernetesVersion}`);
  }
  return installPlatformRelease(parent, name, {
    component: 'cluster-autoscaler',
    releaseName: 'cluster-autoscaler',
    chart: PLATFORM_CHARTS.clusterAutoscaler,
    namespace: NAMESPACE,
    serviceAccount: SERVICE_ACCOUNT,
    inlinePolicy: clusterAutoscalerPolicy(args.clusterName),
    clusterName: args.clusterName,
    provider: args.provider,
    dependsOn: args.dependsOn,
    tags: args.tags,
    values: {
      cloudProvider: 'aws',
      awsRegion: args.region,
      autoDiscovery: { clusterName: args.clusterName },
      image: { tag: imageTag },
      rbac: { serviceAccount: { create: true, name: SERVICE_ACCOUNT } },
      extraArgs: {
        // Node groups of the same shape in several AZs are balanced, so zones stay even.
        'balance-similar-node-groups': true,
        expander: 'least-waste',
        // A node whose pods are only DaemonSets and kube-system pods may still be removed.
        'skip-nodes-with-system-pods': false,
      },
      resources: podResources(CLUSTER_AUTOSCALER_POD),
    },
  });
}
