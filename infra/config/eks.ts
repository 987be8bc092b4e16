import { z } from 'zod';

/**
 * The `eks` and `ingress` stack keys: the cluster, its compute, who may reach it, and the nginx in
 * front of the servers. Every version the program installs is pinned here, so an upgrade is a
 * reviewed config change, never a surprise.
 */

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const cidr = z.string().regex(CIDR, 'expected an IPv4 CIDR such as 10.0.0.0/16');
const roleArn = z.string().startsWith('arn:aws:iam::', 'expected an IAM role ARN');

export const INGRESS_CHARTS = {
  'f5-nginx': { chart: 'oci://ghcr.io/nginx/charts/nginx-ingress', version: '2.4.4' },
  'ingress-nginx': {
    chart: 'ingress-nginx',
    repo: 'https://kubernetes.github.io/ingress-nginx',
    version: '4.15.1',
  },
} as const;

/**
 * The charts of the cluster's own controllers (kubernetes-sigs/aws-load-balancer-controller v3.4.3,
 * kubernetes/autoscaler cluster-autoscaler-chart-9.59.0, cert-manager v1.20.3).
 */
export const PLATFORM_CHARTS = {
  loadBalancerController: {
    chart: 'aws-load-balancer-controller',
    repo: 'https://aws.github.io/eks-charts',
    version: '3.4.3',
  },
  clusterAutoscaler: {
    chart: 'cluster-autoscaler',
    repo: 'https://kubernetes.github.io/autoscaler',
    version: '9.59.0',
  },
  certManager: { chart: 'cert-manager', repo: 'https://charts.jetstack.io', version: 'v1.20.3' },
} as const;

/**
 * The Cluster Autoscaler release for each Kubernetes minor: "use the version of Cluster Autoscaler
 * that matches the Kubernetes minor of your cluster" (kubernetes/autoscaler cluster-autoscaler
 * README, "Releases"). Tags from kubernetes/autoscaler (cluster-autoscaler-1.33.6 …).
 */
export const CLUSTER_AUTOSCALER_IMAGE_TAGS: Record<string, string> = {
  '1.33': 'v1.33.6',
  '1.34': 'v1.34.5',
  '1.35': 'v1.35.2',
};

const nodeGroupSchema = z
  .strictObject({
    instanceTypes: z.array(z.string()).min(1).default(['t3.large']),
    capacityType: z.enum(['ON_DEMAND', 'SPOT']).default('ON_DEMAND'),
    min: z.int().min(1).default(2),
    desired: z.int().min(1).default(2),
    max: z.int().min(1).default(4),
  })
  .prefault({});

/**
 * Auto Mode: the program's own NodePool, whose limits cap what Auto Mode may launch (and what the
 * preview checks the autoscalers' maximum against). Limits count node capacity ("limits",
 * Karpenter NodePool docs), in vCPUs and GiB.
 */
const nodePoolSchema = z
  .strictObject({
    cpu: z.int().min(2).max(10_000).default(32),
    memoryGiB: z.int().min(4).max(100_000).default(128),
    capacityType: z.enum(['on-demand', 'spot']).default('on-demand'),
  })
  .prefault({});

export const eksSchema = z
  .strictObject({
    version: z
      .string()
      .regex(/^1\.\d{2}$/, 'expected a Kubernetes minor version such as 1.33')
      .default('1.33'),
    /**
     * managed: an AL2023 managed node group scaled by the Cluster Autoscaler; auto: EKS Auto Mode
     * runs the nodes. Changing it on a cluster that exists is refused (see infra/eks/compute-guard.ts).
     */
    compute: z.enum(['managed', 'auto']).default('managed'),
    nodeGroup: nodeGroupSchema,
    nodePool: nodePoolSchema,
    endpoint: z
      .strictObject({
        publicAccess: z.boolean().default(true),
        /** Who may reach the public API endpoint; 0.0.0.0/0 is refused. */
        publicAccessCidrs: z.array(cidr).default([]),
      })
      .prefault({}),
    adminRoleArns: z.array(roleArn).default([]),
    /** The deploy role of CI (`pulumi up`): cluster admin, like humans. */
    ciRoleArns: z.array(roleArn).default([]),
    /**
     * The preview role of CI (`pulumi preview` on pull requests): read-only access, Secrets included
     * because Helm keeps its releases in Secrets.
     */
    previewRoleArns: z.array(roleArn).default([]),
    /** addon name → version, overriding the default version EKS gives this Kubernetes minor. */
    addonVersions: z
      .record(z.string(), z.string().regex(/^v\d/, 'expected an addon version such as v1.20.0-eksbuild.1'))
      .default({}),
  })
  .prefault({});

export const ingressSchema = z
  .strictObject({
    controller: z
      .enum(['f5-nginx', 'ingress-nginx'], 'expected "f5-nginx" or "ingress-nginx"')
      .default('f5-nginx'),
    chartVersion: z.string().optional(),
    /**
     * How long nginx keeps old workers (and their open streams) after a reload or a SIGTERM; the
     * bound on stream lifetime across a controller change.
     */
    workerShutdownTimeoutSeconds: z.int().min(10).max(3600).default(240),
    /** Memory of each controller pod (request = limit): reloads with open streams keep old workers alive. */
    memoryMiB: z.int().min(256).max(16_384).default(1024),
    /** The NLB's TCP idle timeout (60-6000 s, "Update the TCP idle timeout", ELB docs). */
    idleTimeoutSeconds: z.int().min(60).max(6000).default(3600),
  })
  .prefault({});

export type EksConfig = z.output<typeof eksSchema>;
export type IngressConfig = z.output<typeof ingressSchema>;
