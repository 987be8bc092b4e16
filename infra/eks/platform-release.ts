import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { PLATFORM_CHARTS } from '../config/eks.js';
import { podIdentity } from './pod-identity.js';

/** The cluster a platform chart goes into, as each chart's installer is given it. */
export interface PlatformTarget {
  clusterName: pulumi.Input<string>;
  region: pulumi.Input<string>;
  provider: k8s.Provider;
  /** The node group and whatever else the chart's identity and release must wait for. */
  dependsOn: pulumi.Resource[];
  tags: Record<string, string>;
}

/**
 * A platform chart whose pods call AWS (the Load Balancer Controller, the Cluster Autoscaler,
 * cert-manager): the Pod Identity of its service account, then the Helm release, which waits for
 * that identity so its pods never start without credentials. The release is atomic (a failed
 * install or upgrade rolls back) and may take 10 minutes.
 */
export interface PlatformReleaseArgs extends Omit<PlatformTarget, 'region'> {
  /** The Pulumi names of the release and its identity are `<name>-<component>`. */
  component: string;
  /** The Helm release's name in the cluster. */
  releaseName: string;
  chart: (typeof PLATFORM_CHARTS)[keyof typeof PLATFORM_CHARTS];
  namespace: string;
  /** Whether Helm creates the namespace (it is not one EKS provides). */
  createNamespace?: boolean;
  /** The service account the chart creates, which the identity is for. */
  serviceAccount: string;
  /** The IAM policy (JSON) of the identity. */
  inlinePolicy: pulumi.Input<string>;
  values: pulumi.Inputs;
}

export function installPlatformRelease(
  parent: pulumi.Resource,
  name: string,
  args: PlatformReleaseArgs,
): k8s.helm.v3.Release {
  const resourceName = `${name}-${args.component}`;
  const identity = podIdentity(parent, resourceName, {
    clusterName: args.clusterName,
    namespace: args.namespace,
    serviceAccount: args.serviceAccount,
    inlinePolicy: args.inlinePolicy,
    tags: args.tags,
    dependsOn: args.dependsOn,
  });
  return new k8s.helm.v3.Release(
    resourceName,
    {
      name: args.releaseName,
      chart: args.chart.chart,
      version: args.chart.version,
      repositoryOpts: { repo: args.chart.repo },
      namespace: args.namespace,
      ...(args.createNamespace ? { createNamespace: true } : {}),
      atomic: true,
      timeout: 600,
      values: args.values,
    },
    { parent, provider: args.provider, dependsOn: [identity, ...args.dependsOn] },
  );
}
