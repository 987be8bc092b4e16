import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';

export interface AddonsArgs {
  clusterName: pulumi.Input<string>;
  /** Auto Mode runs the VPC CNI, CoreDNS, kube-proxy and Pod Identity itself. */
  autoMode: boolean;
  /** Addons that schedule pods wait for these (the node group). */
  dependsOn: pulumi.Resource[];
  tags: Record<string, string>;
}

/**
 * The managed addons an MCP workload needs. metrics-server is the one EKS never installs and the
 * HPA cannot work without. The VPC CNI enforces NetworkPolicy only when told to.
 */
export function addonsFor(autoMode: boolean): { name: string; configuration?: Record<string, unknown> }[] {
  const always = [{ name: 'metrics-server' }];
  if (autoMode) return always;
  return [
    { name: 'vpc-cni', configuration: { enableNetworkPolicy: 'true' } },
    { name: 'coredns' },
    { name: 'kube-proxy' },
    { name: 'eks-pod-identity-agent' },
    ...always,
  ];
}

export function installAddons(parent: pulumi.Resource, name: string, args: AddonsArgs): aws.eks.Addon[] {
  return addonsFor(args.autoMode).map(
    (addon) =>
      new aws.eks.Addon(
        `${name}-${addon.name}`,
        {
          clusterName: args.clusterName,
          addonName: addon.name,
          configurationValues: addon.configuration ? JSON.stringify(addon.configuration) : undefined,
          // Creation may take over a self-managed copy; later updates keep anyone's manual tuning.
          resolveConflictsOnCreate: 'OVERWRITE',
          resolveConflictsOnUpdate: 'PRESERVE',
          tags: args.tags,
        },
        { parent, dependsOn: args.dependsOn },
      ),
  );
}
