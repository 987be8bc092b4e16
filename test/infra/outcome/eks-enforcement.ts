import { type Resource, type ResourceGraph, T } from './graph.js';

export function addon(graph: ResourceGraph, name: string): Resource | undefined {
  return graph.ofType(T.addon).find((resource) => resource.inputs.addonName === name);
}

/**
 * Managed node groups: the VPC CNI enforces policies only with `enableNetworkPolicy` (EKS "Restrict
 * Pod network traffic with Kubernetes network policies"). Auto Mode: only with the `amazon-vpc-cni`
 * ConfigMap's `enable-network-policy-controller: "true"`, on nodes whose NodeClass sets
 * `networkPolicy` (EKS "Use Network Policies with EKS Auto Mode"). The servers' pods must land on
 * such nodes: every NodePool they may use (the program's, and `general-purpose` when the cluster
 * enables it) must take that NodeClass.
 */
export function policiesEnforced(graph: ResourceGraph, autoMode: boolean): boolean {
  if (!autoMode) {
    const cni = addon(graph, 'vpc-cni');
    return JSON.parse(cni?.inputs.configurationValues ?? '{}').enableNetworkPolicy === 'true';
  }
  const configMap = graph
    .ofType('kubernetes:core/v1:ConfigMap')
    .find(
      (resource) =>
        resource.inputs.metadata?.name === 'amazon-vpc-cni' &&
        resource.inputs.metadata?.namespace === 'kube-system',
    );
  const enforcing = new Set(
    graph.resources
      .filter((resource) => resource.type.endsWith(':NodeClass') && resource.inputs.spec?.networkPolicy)
      .map((resource) => resource.inputs.metadata?.name),
  );
  const pools = graph.resources.filter((resource) => resource.type.endsWith(':NodePool'));
  const builtIn: string[] = graph.ofType(T.eksCluster)[0]?.inputs.computeConfig?.nodePools ?? [];
  const poolsEnforce =
    pools.length > 0 &&
    pools.every((pool) => enforcing.has(pool.inputs.spec?.template?.spec?.nodeClassRef?.name)) &&
    !builtIn.includes('general-purpose');
  return configMap?.inputs.data?.['enable-network-policy-controller'] === 'true' && poolsEnforce;
}
