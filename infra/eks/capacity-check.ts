import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ServerConfig, StackConfig } from '../config.js';
import { ConfigError } from '../config.js';
import {
  type InstanceSpec,
  nodeGroupProblem,
  nodePoolProblem,
  type PodDemand,
  serverDemand,
} from './capacity.js';
import { CERT_MANAGER_PODS } from './certificates.js';
import { CLUSTER_AUTOSCALER_POD } from './cluster-autoscaler.js';
import { controllerPods } from './ingress-controller.js';
import { LOAD_BALANCER_CONTROLLER_PODS } from './load-balancer-controller.js';

/**
 * The pods of the managed addons, as EKS ships them: CoreDNS (2 × 100m/70Mi, its Deployment's
 * requests) and metrics-server (2 × 100m/200Mi). On Auto Mode CoreDNS runs on the `system` pool.
 */
const COREDNS: PodDemand = { name: 'coredns', replicas: 2, cpuMilli: 100, memoryMiB: 70 };
const METRICS_SERVER: PodDemand = { name: 'metrics-server', replicas: 2, cpuMilli: 100, memoryMiB: 200 };

/** Every pod the servers and the cluster's own controllers may run at once, at their maximum. */
export function platformPods(
  args: { servers: Record<string, ServerConfig>; eks: StackConfig['eks']; ingress: StackConfig['ingress'] },
  withCertificates: boolean,
): PodDemand[] {
  const managed = args.eks.compute === 'managed';
  return [
    ...serverDemand(args.servers),
    controllerPods(args.ingress),
    METRICS_SERVER,
    ...(managed ? [COREDNS, CLUSTER_AUTOSCALER_POD, LOAD_BALANCER_CONTROLLER_PODS] : []),
    ...(withCertificates ? [CERT_MANAGER_PODS] : []),
  ];
}

/**
 * The problem with the stack's capacity, or undefined. Managed node groups: the instance types are
 * looked up (DescribeInstanceTypes, which a preview runs too).
 */
export async function capacityProblemFor(
  demand: PodDemand[],
  eks: StackConfig['eks'],
): Promise<string | undefined> {
  if (eks.compute === 'auto') return nodePoolProblem(demand, eks.nodePool);
  const specs = await Promise.all(
    eks.nodeGroup.instanceTypes.map(async (instanceType): Promise<InstanceSpec> => {
      const found = await aws.ec2.getInstanceType({ instanceType });
      return {
        instanceType,
        vcpus: found.defaultVcpus,
        memoryMiB: found.memorySize,
        maximumNetworkInterfaces: found.maximumNetworkInterfaces,
        ipv4AddressesPerInterface: found.maximumIpv4AddressesPerInterface,
      };
    }),
  );
  return nodeGroupProblem(demand, specs, eks.nodeGroup.max);
}

/**
 * Resolves when the pods fit; fails the preview with the numbers otherwise. Auto Mode fails at once,
 * before any resource exists; managed node groups once the lookups answer. The cluster takes the
 * result among its inputs, so a stack that does not fit creates nothing.
 */
export function checkCapacity(demand: PodDemand[], eks: StackConfig['eks']): pulumi.Output<'checked'> {
  if (eks.compute === 'auto') {
    const problem = nodePoolProblem(demand, eks.nodePool);
    if (problem) throw new ConfigError([problem]);
    return pulumi.output('checked' as const);
  }
  return pulumi.output(capacityProblemFor(demand, eks)).apply((problem) => {
    if (problem) throw new ConfigError([problem]);
    return 'checked' as const;
  });
}
