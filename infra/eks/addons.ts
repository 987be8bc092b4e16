import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface AddonsArgs {
  clusterName: pulumi.Input<string>;
  /** The cluster's Kubernetes minor: each addon runs the version EKS pairs with it. */
  kubernetesVersion: string;
  /** addon name → version, from `eks.addonVersions`, overriding that pairing. */
  versions: Record<string, string>;
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

/**
 * Every addon has an explicit version (finding 16: without one, bumping `eks.version` moved the
 * control plane and left the addons behind): the one EKS marks as default for the cluster's
 * Kubernetes minor (DescribeAddonVersions, `defaultVersion`; aws.eks.getAddonVersion without
 * `mostRecent`), so an upgrade of `eks.version` upgrades them with it, and the preview shows the
 * new versions. `eks.addonVersions` pins any of them exactly.
 */
export function addonVersion(
  addonName: string,
  args: Pick<AddonsArgs, 'kubernetesVersion' | 'versions'>,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const pinned = args.versions[addonName];
  if (pinned) return pulumi.output(pinned);
  return aws.eks.getAddonVersionOutput(
    { addonName, kubernetesVersion: args.kubernetesVersion, mostRecent: false },
    { parent },
  ).version;
}

export function installAddons(parent: pulumi.Resource, name: string, args: AddonsArgs): aws.eks.Addon[] {
  return addonsFor(args.autoMode).map(
    (addon) =>
      new aws.eks.Addon(
        `${name}-${addon.name}`,
        {
          clusterName: args.clusterName,
          addonName: addon.name,
          addonVersion: addonVersion(addon.name, args, parent),
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
