import { isDeepStrictEqual } from 'node:util';
import { label, type Resource, type ResourceGraph, T } from './graph.js';

/**
 * Which tasks and pods a deploy replaces, from the program's inputs before and after it.
 *
 * - ECS starts a new deployment when the service's task definition changes (every input of a task
 *   definition forces a new revision: terraform-provider-aws internal/service/ecs/task_definition.go)
 *   or when `forceNewDeployment` is on and its `triggers` change ("Enable to force a new task
 *   deployment of the service… When using the forceNewDeployment property you also need to configure
 *   the triggers property", node_modules/@pulumi/aws/ecs/service.d.ts). A secret injected through
 *   `valueFrom` is read only when a task starts, so a new value alone reaches no running task.
 * - Kubernetes: "A Deployment's rollout is triggered if and only if the Deployment's Pod template
 *   (that is, .spec.template) is changed" (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/),
 *   and environment variables from a Secret are not updated in running pods.
 */

export interface Rollout {
  workload: string;
  why: string;
}

/** Inputs that change no revision (tags are metadata). */
const TASK_DEFINITION_METADATA = new Set(['tags', 'tagsAll', 'skipDestroy', 'trackLatest']);

function changedInputs(before: Resource, after: Resource, ignore: ReadonlySet<string> = new Set()): string[] {
  const keys = new Set([...Object.keys(before.inputs), ...Object.keys(after.inputs)]);
  return [...keys]
    .filter((key) => !ignore.has(key) && !isDeepStrictEqual(before.inputs[key], after.inputs[key]))
    .sort();
}

export function rollouts(before: ResourceGraph, after: ResourceGraph): Rollout[] {
  const rolled: Rollout[] = [];
  for (const service of after.ofType(T.ecsService)) {
    const previous = before.find(T.ecsService, service.name);
    if (!previous) continue;
    const definition = after.byRef(T.taskDefinition, service.inputs.taskDefinition);
    const previousDefinition = before.byRef(T.taskDefinition, previous.inputs.taskDefinition);
    const revision =
      definition && previousDefinition
        ? changedInputs(previousDefinition, definition, TASK_DEFINITION_METADATA)
        : [];
    if (definition?.name !== previousDefinition?.name || revision.length > 0) {
      rolled.push({
        workload: label(service),
        why: `new task definition revision (${revision.join(', ') || 'another definition'})`,
      });
    } else if (
      service.inputs.forceNewDeployment === true &&
      !isDeepStrictEqual(service.inputs.triggers, previous.inputs.triggers)
    ) {
      rolled.push({ workload: label(service), why: 'forceNewDeployment with changed triggers' });
    }
  }
  for (const deployment of after.ofType(T.deployment)) {
    const previous = before.find(T.deployment, deployment.name);
    if (!previous) continue;
    if (!isDeepStrictEqual(previous.inputs.spec?.template, deployment.inputs.spec?.template)) {
      rolled.push({ workload: label(deployment), why: 'the pod template changed' });
    }
  }
  return rolled;
}
