import { asArray, asRecord, type PolicyInput } from './resource.js';

/**
 * The containers a resource runs, on either platform, in one shape: ECS task definitions carry them
 * as a JSON string, Kubernetes workloads as a pod template nested differently per kind.
 */

export const ECS_TASK_DEFINITION = 'aws:ecs/taskDefinition:TaskDefinition';

/** Kubernetes kinds that run pods → where the pod spec sits in their props. */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  'kubernetes:apps/v1:Deployment': ['spec', 'template', 'spec'],
  'kubernetes:apps/v1:StatefulSet': ['spec', 'template', 'spec'],
  'kubernetes:apps/v1:DaemonSet': ['spec', 'template', 'spec'],
  'kubernetes:apps/v1:ReplicaSet': ['spec', 'template', 'spec'],
  'kubernetes:batch/v1:Job': ['spec', 'template', 'spec'],
  'kubernetes:batch/v1:CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  'kubernetes:core/v1:Pod': ['spec'],
};

export function isKubernetesWorkload(type: string): boolean {
  return type in POD_SPEC_PATHS;
}

/** `Deployment app`: how messages name a resource. */
export function describe(resource: PolicyInput): string {
  if (resource.type === ECS_TASK_DEFINITION) return `ECS task definition ${resource.name}`;
  const kind = resource.type.split(':').pop() ?? resource.type;
  return `${kind} ${resource.name}`;
}

export interface EcsContainer {
  name?: string;
  user?: string;
  memory?: number;
  memoryReservation?: number;
  cpu?: number;
  environment?: { name?: string; value?: string }[];
}

/** The task definition's containers; a definition that is not a JSON array is itself a violation. */
export function ecsContainers(resource: PolicyInput): { containers: EcsContainer[]; problem?: string } {
  const raw = resource.props.containerDefinitions;
  if (typeof raw !== 'string')
    return { containers: [], problem: `${describe(resource)}: containerDefinitions is missing` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return {
      containers: [],
      problem: `${describe(resource)}: containerDefinitions is not valid JSON (${(error as Error).message})`,
    };
  }
  if (!Array.isArray(parsed)) {
    return { containers: [], problem: `${describe(resource)}: containerDefinitions is not a JSON array` };
  }
  return { containers: parsed as EcsContainer[] };
}

/** The pod spec of a Kubernetes workload, or undefined for any other resource. */
export function podSpec(resource: PolicyInput): Record<string, unknown> | undefined {
  const path = POD_SPEC_PATHS[resource.type];
  if (!path) return undefined;
  let node: unknown = resource.props;
  for (const key of path) node = asRecord(node)?.[key];
  return asRecord(node);
}

/** Every container of a pod spec, init containers included: they run with the same privileges. */
export function podContainers(spec: Record<string, unknown>): Record<string, unknown>[] {
  return [...asArray(spec.initContainers), ...asArray(spec.containers)]
    .map(asRecord)
    .filter((container): container is Record<string, unknown> => container !== undefined);
}
