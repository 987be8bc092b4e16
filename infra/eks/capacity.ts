import type { ServerConfig } from '../config.js';
import { millicores } from '../k8s/pod.js';

/**
 * Can the cluster hold every pod at its autoscaler's maximum? Checked at preview, so a stack whose
 * HPAs would leave pods Pending fails with the numbers instead of deploying.
 *
 * Managed node groups: the pods are packed (first fit, largest first, as the scheduler spreads no
 * tighter) onto nodes of the smallest configured instance type, each with what the kubelet leaves
 * allocatable, up to `eks.nodeGroup.max` nodes. Auto Mode: the pods, plus what nodes keep for
 * themselves, must stay within the NodePool's limits.
 */

/** One kind of pod: how many at most, and what each requests. */
export interface PodDemand {
  /** What the user names in config (`servers.app`), or the controller's name. */
  name: string;
  replicas: number;
  cpuMilli: number;
  memoryMiB: number;
}

/** A container's `resources` for one kind of pod: it requests what the capacity check counts, and its memory is capped there. */
export function podResources(pods: PodDemand) {
  return {
    requests: { cpu: `${pods.cpuMilli}m`, memory: `${pods.memoryMiB}Mi` },
    limits: { memory: `${pods.memoryMiB}Mi` },
  };
}

/** An instance type as DescribeInstanceTypes reports it (aws.ec2.getInstanceType). */
export interface InstanceSpec {
  instanceType: string;
  vcpus: number;
  memoryMiB: number;
  maximumNetworkInterfaces: number;
  ipv4AddressesPerInterface: number;
}

/** What one node offers to pods. */
export interface NodeCapacity {
  instanceType: string;
  cpuMilli: number;
  memoryMiB: number;
  pods: number;
}

/**
 * What DaemonSets take on every node: aws-node (VPC CNI, 25m), kube-proxy (100m) and the Pod Identity
 * agent, as the managed addons ship them. An estimate, rounded up.
 */
export const DAEMONSETS_PER_NODE = { cpuMilli: 150, memoryMiB: 200, pods: 3 };

/**
 * The node's allocatable resources, as nodeadm configures the kubelet on AL2023
 * (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go): kube-reserved CPU of 6% of the first
 * core, 1% of the second, 0.5% of the next two and 0.25% of the rest; kube-reserved memory of
 * 11 MiB per pod plus 255 MiB; eviction at 100 MiB; max pods from the ENIs (eni_max_pods.go:
 * ENIs × (IPv4 addresses per ENI − 1) + 2). The kernel keeps some memory for itself, which
 * DescribeInstanceTypes counts: 5% is set aside for it (an estimate).
 */
export function allocatable(spec: InstanceSpec): NodeCapacity {
  const total = spec.vcpus * 1000;
  const ranges = [
    [0, 1000, 600],
    [1000, 2000, 100],
    [2000, 4000, 50],
    [4000, Number.POSITIVE_INFINITY, 25],
  ] as const;
  const reservedCpu = ranges.reduce(
    (sum, [from, to, basisPoints]) =>
      sum + (total > from ? Math.floor(((Math.min(total, to) - from) * basisPoints) / 10_000) : 0),
    0,
  );
  const pods = spec.maximumNetworkInterfaces * (spec.ipv4AddressesPerInterface - 1) + 2;
  const reservedMemory = 11 * pods + 255 + 100;
  return {
    instanceType: spec.instanceType,
    cpuMilli: total - reservedCpu - DAEMONSETS_PER_NODE.cpuMilli,
    memoryMiB: Math.floor(spec.memoryMiB * 0.95) - reservedMemory - DAEMONSETS_PER_NODE.memoryMiB,
    pods: pods - DAEMONSETS_PER_NODE.pods,
  };
}

/** Each server at the most pods it may run: the HPA's maximum, or its fixed replicas. */
export function serverDemand(servers: Record<string, ServerConfig>): PodDemand[] {
  return Object.entries(servers).map(([name, server]) => ({
    name: `servers.${name}`,
    replicas: server.autoscaling.enabled ? server.autoscaling.max : server.replicas,
    cpuMilli: Number.parseInt(millicores(server.resources.cpu), 10),
    memoryMiB: server.resources.memory,
  }));
}

function describe(demand: PodDemand[]): string {
  return demand.map((pod) => `${pod.name}: ${pod.replicas} × ${pod.cpuMilli}m/${pod.memoryMiB}Mi`).join(', ');
}

/** How many nodes of `node` hold every pod (first fit decreasing); Infinity if one pod fits on none. */
export function nodesNeeded(demand: PodDemand[], node: NodeCapacity): number {
  const pods = demand
    .flatMap((kind) => Array.from({ length: kind.replicas }, () => kind))
    .sort((a, b) => b.cpuMilli - a.cpuMilli || b.memoryMiB - a.memoryMiB);
  const nodes: { cpu: number; memory: number; pods: number }[] = [];
  for (const pod of pods) {
    if (pod.cpuMilli > node.cpuMilli || pod.memoryMiB > node.memoryMiB) return Number.POSITIVE_INFINITY;
    let target = nodes.find(
      (free) => free.cpu >= pod.cpuMilli && free.memory >= pod.memoryMiB && free.pods >= 1,
    );
    if (!target) {
      target = { cpu: node.cpuMilli, memory: node.memoryMiB, pods: node.pods };
      nodes.push(target);
    }
    target.cpu -= pod.cpuMilli;
    target.memory -= pod.memoryMiB;
    target.pods -= 1;
  }
  return nodes.length;
}

/** Managed node group: the problem with `eks.nodeGroup`, or undefined when everything fits. */
export function nodeGroupProblem(
  demand: PodDemand[],
  specs: InstanceSpec[],
  maxNodes: number,
): string | undefined {
  // A group of several types may launch any of them: plan for the smallest.
  const node = specs.map(allocatable).sort((a, b) => a.cpuMilli - b.cpuMilli || a.memoryMiB - b.memoryMiB)[0];
  if (!node) return 'mcp-fleet:eks.nodeGroup.instanceTypes: expected at least one instance type';
  const needed = nodesNeeded(demand, node);
  if (needed <= maxNodes) return undefined;
  const each = `${node.cpuMilli}m CPU, ${node.memoryMiB}Mi and ${node.pods} pods allocatable`;
  if (needed === Number.POSITIVE_INFINITY) {
    const tooBig = demand.filter((pod) => pod.cpuMilli > node.cpuMilli || pod.memoryMiB > node.memoryMiB);
    return `mcp-fleet:eks.nodeGroup.instanceTypes: a ${node.instanceType} node has ${each}; ${describe(tooBig)} does not fit on one; use a larger instance type or smaller resources`;
  }
  return `mcp-fleet:eks.nodeGroup.max: at their maximum the pods (${describe(demand)}) need ${needed} ${node.instanceType} nodes (${each} each), but the node group may grow to ${maxNodes}; raise eks.nodeGroup.max, use a larger instance type, or lower the servers' autoscaling.max`;
}

/** What Auto Mode nodes keep for the kubelet and DaemonSets, as a share of their capacity (an estimate). */
export const AUTO_MODE_NODE_OVERHEAD = 0.15;

/** Auto Mode: the problem with `eks.nodePool`, or undefined when the limits hold every pod. */
export function nodePoolProblem(
  demand: PodDemand[],
  limits: { cpu: number; memoryGiB: number },
): string | undefined {
  const cpu = demand.reduce((sum, pod) => sum + pod.replicas * pod.cpuMilli, 0);
  const memory = demand.reduce((sum, pod) => sum + pod.replicas * pod.memoryMiB, 0);
  const usable = 1 - AUTO_MODE_NODE_OVERHEAD;
  const needCpu = Math.ceil(cpu / 1000 / usable);
  const needMemory = Math.ceil(memory / 1024 / usable);
  if (needCpu <= limits.cpu && needMemory <= limits.memoryGiB) return undefined;
  return `mcp-fleet:eks.nodePool: at their maximum the pods (${describe(demand)}) need about ${needCpu} vCPUs and ${needMemory} GiB of nodes (${Math.round(AUTO_MODE_NODE_OVERHEAD * 100)}% kept by each node), but the NodePool is limited to ${limits.cpu} vCPUs and ${limits.memoryGiB} GiB; raise eks.nodePool.cpu / eks.nodePool.memoryGiB, or lower the servers' autoscaling.max`;
}
