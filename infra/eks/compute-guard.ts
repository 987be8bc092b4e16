import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ConfigError } from '../config.js';

/**
 * Refuses to switch `eks.compute` on a cluster that exists (finding 16). Auto Mode and managed node
 * groups differ in what EKS installs (`bootstrapSelfManagedAddons`, which "forces a new resource",
 * node_modules/@pulumi/aws/eks/cluster.d.ts), in the nodes and in the addons: one update would
 * delete the node group and the networking addons under running pods, or replace a cluster whose
 * fixed name and deletion protection block the replacement. Checked at preview, against the
 * cluster itself (ListClusters, then DescribeCluster's computeConfig).
 */
export function computeModeProblem(
  clusterName: string,
  wanted: 'managed' | 'auto',
  existing: { autoMode: boolean } | undefined,
): string | undefined {
  if (!existing) return undefined;
  const running = existing.autoMode ? 'auto' : 'managed';
  if (running === wanted) return undefined;
  return `mcp-fleet:eks.compute: the cluster ${clusterName} runs compute: ${running}; switching it to ${wanted} in place would remove its nodes and addons under running pods, so it is refused. Keep ${running}, or create the new mode in a new stack and move traffic to it`;
}

/** What the account holds under the cluster's name: nothing, or a cluster and its compute mode. */
export async function computeModeProblemFor(
  clusterName: string,
  wanted: 'managed' | 'auto',
): Promise<string | undefined> {
  const { names } = await aws.eks.getClusters({});
  if (!(names ?? []).includes(clusterName)) return undefined;
  const existing = await aws.eks.getCluster({ name: clusterName });
  return computeModeProblem(clusterName, wanted, {
    autoMode: existing.computeConfigs?.[0]?.enabled === true,
  });
}

/**
 * Resolves once the switch is known not to happen; fails the preview with the problem otherwise.
 * The cluster takes it among its inputs, so nothing is created before the check has run.
 */
export function checkComputeMode(clusterName: string, wanted: 'managed' | 'auto'): pulumi.Output<'checked'> {
  return pulumi.output(computeModeProblemFor(clusterName, wanted)).apply((problem) => {
    if (problem) throw new ConfigError([problem]);
    return 'checked' as const;
  });
}
