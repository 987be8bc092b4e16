import { label, type Resource, type ResourceGraph, T } from './graph.js';

/**
 * Does every value a task or pod reads when it starts exist before it starts?
 *
 * - ECS injects `secrets` when a task starts, reading the secret's AWSCURRENT version; a secret
 *   without a version fails the task with ResourceInitializationError
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html).
 *   A task definition that references the secret's ARN depends on the Secret, not on its
 *   SecretVersion, so the engine may create the service first.
 * - A pod whose env reads a Kubernetes Secret that does not exist yet waits in
 *   CreateContainerConfigError (https://kubernetes.io/docs/concepts/configuration/secret/).
 * The engine creates a resource after everything in its dependency closure
 * (`ResourceGraph.prerequisites`), and only then: a read that is not in the closure is a race.
 */

export interface StartRead {
  /** What the workload reads (`REDIS_URL from …`). */
  what: string;
  /** The resource that must exist first. */
  resource: Resource;
}

// biome-ignore lint/suspicious/noExplicitAny: ECS container definitions as the task definition holds them.
export function containersOf(taskDefinition: Resource): any[] {
  return JSON.parse(taskDefinition.inputs.containerDefinitions ?? '[]');
}

/** `arn:…:secret:name:json-key:version-stage:version-id` → the secret's ARN. */
function secretArnOf(valueFrom: string): string {
  return valueFrom.split(':').slice(0, -3).join(':');
}

function versionsOf(graph: ResourceGraph, secret: Resource): Resource[] {
  return graph
    .ofType(T.secretVersion)
    .filter(
      (version) => version.inputs.secretId === secret.id || version.inputs.secretId === secret.state.arn,
    );
}

/** The replication groups whose endpoint (primary, or configuration in cluster mode) appears in a value (the Redis URL inside a secret). */
function redisGroupsIn(graph: ResourceGraph, text: string): Resource[] {
  return graph.ofType(T.replicationGroup).filter((group) => {
    const endpoint = group.state.primaryEndpointAddress ?? group.state.configurationEndpointAddress;
    return endpoint && text.includes(endpoint);
  });
}

/** What the tasks of an ECS service read at start: each secret's current version, and the Redis endpoint inside it. */
export function ecsStartReads(graph: ResourceGraph, service: Resource): StartRead[] {
  const taskDefinition = graph.byRef(T.taskDefinition, service.inputs.taskDefinition);
  if (!taskDefinition) throw new Error(`${label(service)} runs a task definition the graph lacks`);
  const reads: StartRead[] = [];
  for (const container of containersOf(taskDefinition)) {
    for (const secret of container.secrets ?? []) {
      const stored = graph.byRef(T.secret, secretArnOf(secret.valueFrom));
      if (!stored) continue;
      const versions = versionsOf(graph, stored);
      if (versions.length === 0) {
        reads.push({ what: `${secret.name} (${label(stored)} has no version at all)`, resource: stored });
      }
      for (const version of versions) {
        reads.push({ what: `${secret.name} from ${label(version)}`, resource: version });
        for (const group of redisGroupsIn(graph, String(version.inputs.secretString ?? ''))) {
          reads.push({ what: `the Redis endpoint in ${secret.name}`, resource: group });
        }
      }
    }
  }
  return reads;
}

/** What the pods of a Deployment read at start: the Kubernetes Secrets behind env, envFrom and volumes. */
export function podStartReads(graph: ResourceGraph, deployment: Resource): StartRead[] {
  const namespace = deployment.inputs.metadata?.namespace ?? 'default';
  const spec = deployment.inputs.spec?.template?.spec ?? {};
  const names = new Set<string>();
  for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref && ref.optional !== true) names.add(ref.name);
    }
    for (const source of container.envFrom ?? []) {
      if (source.secretRef && source.secretRef.optional !== true) names.add(source.secretRef.name);
    }
  }
  for (const volume of spec.volumes ?? []) if (volume.secret?.secretName) names.add(volume.secret.secretName);
  const reads: StartRead[] = [];
  for (const name of names) {
    const secret = graph
      .ofType(T.k8sSecret)
      .find(
        (candidate) =>
          candidate.inputs.metadata?.name === name &&
          (candidate.inputs.metadata?.namespace ?? 'default') === namespace,
      );
    if (!secret) continue;
    reads.push({ what: `Secret ${namespace}/${name}`, resource: secret });
    for (const group of redisGroupsIn(graph, JSON.stringify(secret.inputs.stringData ?? {}))) {
      reads.push({ what: `the Redis endpoint in Secret ${namespace}/${name}`, resource: group });
    }
  }
  return reads;
}

/** The reads that may happen before the resource they read exists. */
export function racingReads(graph: ResourceGraph, workload: Resource, reads: StartRead[]): StartRead[] {
  const before = new Set(graph.prerequisites(workload));
  return reads.filter((read) => !before.has(read.resource));
}

/**
 * `aws.ecs.Service` returns as soon as the service exists: "If `true`, this provider will wait for
 * the service to reach a steady state … Default `false`" (node_modules/@pulumi/aws/ecs/service.d.ts,
 * waitForSteadyState). Without it `pulumi up` reports success while no task has ever turned healthy.
 */
export function upWaitsForHealthyTasks(service: Resource): boolean {
  return service.inputs.waitForSteadyState === true;
}
