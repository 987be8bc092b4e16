import { asNumber, type PolicyInput, stackOf } from './resource.js';

/**
 * In production one replica is an outage waiting for a deploy, a node drain or a crash. The policy
 * cannot ask Pulumi for the stack name (a policy pack runs outside the program), so it reads it from
 * each resource's URN and compares it with the pack's `productionStacks` config.
 */

export interface ReplicaConfig {
  /** Stack names that are production. */
  productionStacks: string[];
  /** The fewest replicas a production workload may run. */
  minimum: number;
}

export const DEFAULT_REPLICA_CONFIG: ReplicaConfig = { productionStacks: ['production'], minimum: 2 };

/** Kubernetes' default when `minReplicas` is not set. */
const HPA_DEFAULT_MIN = 1;

/** Resource check: production autoscaling floors (and fixed replica counts) are at least `minimum`. */
export function productionMinReplicas(
  resource: PolicyInput,
  config: ReplicaConfig = DEFAULT_REPLICA_CONFIG,
): string[] {
  const stack = stackOf(resource.urn);
  if (!config.productionStacks.includes(stack)) return [];
  const found = floorOf(resource);
  if (!found || found.value >= config.minimum) return [];
  return [
    `production stack "${stack}": ${found.what} ${resource.name} has ${found.field} ${found.value}; run at least ${config.minimum} so a deploy, a drain or a crash leaves a replica serving`,
  ];
}

function floorOf(resource: PolicyInput): { what: string; field: string; value: number } | undefined {
  const { props } = resource;
  switch (resource.type) {
    case 'aws:appautoscaling/target:Target': {
      if (props.serviceNamespace !== 'ecs') return undefined;
      const value = asNumber(props.minCapacity);
      return value === undefined ? undefined : { what: 'ECS scaling target', field: 'minCapacity', value };
    }
    case 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler':
    case 'kubernetes:autoscaling/v1:HorizontalPodAutoscaler': {
      const spec = props.spec as Record<string, unknown> | undefined;
      const value = asNumber(spec?.minReplicas) ?? HPA_DEFAULT_MIN;
      return { what: 'HorizontalPodAutoscaler', field: 'minReplicas', value };
    }
    case 'aws:ecs/service:Service': {
      // DAEMON services run one task per instance; desiredCount does not apply.
      if (props.schedulingStrategy === 'DAEMON') return undefined;
      const value = asNumber(props.desiredCount);
      return value === undefined ? undefined : { what: 'ECS service', field: 'desiredCount', value };
    }
    case 'kubernetes:apps/v1:Deployment':
    case 'kubernetes:apps/v1:StatefulSet': {
      // Unset replicas means an HPA owns the count; the HPA's floor is checked on its own.
      const spec = props.spec as Record<string, unknown> | undefined;
      const value = asNumber(spec?.replicas);
      return value === undefined
        ? undefined
        : { what: resource.type.split(':').pop() as string, field: 'replicas', value };
    }
    default:
      return undefined;
  }
}
