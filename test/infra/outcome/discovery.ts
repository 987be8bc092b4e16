import { label, type Resource, type ResourceGraph, T } from './graph.js';
import { selectorMatches } from './network-policy.js';

/**
 * What a DNS query for an upstream's name answers, from where the app runs. The gateway takes every
 * A record of the name as one instance and pins sessions to it (docs/gateway.md), so the outcome that
 * matters is: one record per task or pod of that server, and how many of them one answer can hold.
 *
 * - ECS, Cloud Map: a private DNS namespace is a Route 53 private hosted zone associated with one
 *   VPC, answered by that VPC's resolver only when the VPC has DNS support and DNS hostnames on
 *   ("Working with private hosted zones", Route 53 docs). `<service>.<namespace>` answers an A record
 *   per registered instance; ECS registers each task of a service whose `serviceRegistries` names the
 *   Cloud Map service. MULTIVALUE answers "up to eight" healthy records, WEIGHTED one at random
 *   ("DnsConfig", Cloud Map API reference).
 * - EKS, cluster DNS: `<service>.<namespace>.svc.cluster.local` of a Service with `clusterIP: None`
 *   (headless) answers an A record per ready pod its selector matches; any other Service answers its
 *   one virtual IP, behind which kube-proxy picks a pod per connection ("DNS for Services and Pods",
 *   Kubernetes docs).
 */

export type Answer =
  | {
      ok: true;
      /** The workload whose instances the records are: the ECS service or the Deployment. */
      workload: Resource;
      /** `per-instance`: an A record per task/pod; `virtual-ip`: one address hiding them. */
      records: 'per-instance' | 'virtual-ip';
      /** The most records one answer holds (Infinity: all of them). */
      maxRecords: number;
      /** What resolves it, for messages. */
      by: string;
    }
  | { ok: false; reason: string };

const MULTIVALUE_MAX_RECORDS = 8;

/** `name` asked from a task in VPC `vpcId`. */
export function resolveCloudMap(graph: ResourceGraph, name: string, vpcId: string): Answer {
  const vpc = graph.byRef(T.vpc, vpcId);
  if (!vpc) return { ok: false, reason: `${vpcId} is no VPC of the graph` };
  if (vpc.inputs.enableDnsSupport !== true || vpc.inputs.enableDnsHostnames !== true) {
    return {
      ok: false,
      reason: `${label(vpc)} lacks DNS support or DNS hostnames: private zones go unanswered`,
    };
  }
  const namespace = graph
    .ofType(T.privateDnsNamespace)
    .filter((candidate) => candidate.inputs.vpc === vpc.id)
    .find((candidate) => name.endsWith(`.${candidate.inputs.name}`));
  if (!namespace)
    return { ok: false, reason: `no private DNS namespace of ${label(vpc)} holds ${name}: NXDOMAIN` };
  const serviceName = name.slice(0, -namespace.inputs.name.length - 1);
  const service = graph
    .ofType(T.discoveryService)
    .find(
      (candidate) =>
        candidate.inputs.name === serviceName && candidate.inputs.dnsConfig?.namespaceId === namespace.id,
    );
  if (!service)
    return { ok: false, reason: `no Cloud Map service ${serviceName} in ${label(namespace)}: NXDOMAIN` };
  const records = service.inputs.dnsConfig?.dnsRecords ?? [];
  if (!records.some((record: { type: string }) => record.type === 'A')) {
    return { ok: false, reason: `${label(service)} registers no A record` };
  }
  const registered = graph
    .ofType(T.ecsService)
    .filter((ecs) =>
      [ecs.inputs.serviceRegistries ?? []]
        .flat()
        .some((registry: { registryArn?: string }) => registry.registryArn === service.state.arn),
    );
  if (registered.length !== 1) {
    return {
      ok: false,
      reason: `${registered.length} ECS services register their tasks in ${label(service)}`,
    };
  }
  const routing = service.inputs.dnsConfig?.routingPolicy ?? 'MULTIVALUE';
  return {
    ok: true,
    workload: registered[0] as Resource,
    records: 'per-instance',
    maxRecords: routing === 'MULTIVALUE' ? MULTIVALUE_MAX_RECORDS : 1,
    by: `${label(service)} in ${label(namespace)} (${routing})`,
  };
}

/** `name` asked through the cluster's DNS. */
export function resolveClusterDns(graph: ResourceGraph, name: string): Answer {
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(name);
  if (!match) return { ok: false, reason: `${name} is not a Service name of the cluster domain` };
  const [, serviceName, namespace] = match;
  const service = graph
    .ofType(T.k8sService)
    .find(
      (candidate) =>
        candidate.inputs.metadata?.name === serviceName && candidate.inputs.metadata?.namespace === namespace,
    );
  if (!service) return { ok: false, reason: `no Service ${namespace}/${serviceName}: NXDOMAIN` };
  const selector = service.inputs.spec?.selector;
  const selected = graph
    .ofType(T.deployment)
    .filter(
      (deployment) =>
        (deployment.inputs.metadata?.namespace ?? 'default') === namespace &&
        selector !== undefined &&
        selectorMatches({ matchLabels: selector }, deployment.inputs.spec?.template?.metadata?.labels ?? {}),
    );
  if (selected.length !== 1) {
    return {
      ok: false,
      reason: `Service ${namespace}/${serviceName} selects the pods of ${selected.length} Deployments`,
    };
  }
  const headless = service.inputs.spec?.clusterIP === 'None';
  return {
    ok: true,
    workload: selected[0] as Resource,
    records: headless ? 'per-instance' : 'virtual-ip',
    maxRecords: headless ? Number.POSITIVE_INFINITY : 1,
    by: `${headless ? 'headless ' : ''}Service ${namespace}/${serviceName}`,
  };
}
