import { randomBytes } from 'node:crypto';
import { FAKE_SECRET_PREFIX } from '../harness.js';
import type { StartOverrides } from '../outcome/container-start.js';
import { type Resource, type ResourceGraph, T } from '../outcome/graph.js';
import { containersOf } from '../outcome/ordering.js';

/**
 * What the platform hands one container, read from the captured program: its environment with
 * every secret resolved from the store the platform reads it from (the SecretVersion behind an ECS
 * `valueFrom`, the Kubernetes Secret behind a `secretKeyRef`), its start overrides, its port, and
 * the probes the platform will run against it.
 */

export type Probe =
  | { source: string; kind: 'http'; path: string; accepts: (status: number) => boolean }
  | { source: string; kind: 'tcp' }
  | { source: string; kind: 'command'; argv: string[] };

export interface PlatformContainer {
  env: Record<string, string>;
  containerPort: number;
  overrides: StartOverrides;
  probes: Probe[];
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Under mocks a generated password is a short marker (`FAKE-SECRET-<name>`); the deployed value is
 * `length` characters. Stub each marker with a fresh value of the declared length and alphabet.
 * Values from the stack config (the API keys) stay as captured.
 */
function stubGenerated(graph: ResourceGraph, value: string, stubs: Map<string, string>): string {
  return value.replace(new RegExp(`${FAKE_SECRET_PREFIX}[A-Za-z0-9_-]+`, 'g'), (marker) => {
    const password = graph.find(T.randomPassword, marker.slice(FAKE_SECRET_PREFIX.length));
    if (!password) return marker;
    if (!stubs.has(marker)) {
      const bytes = randomBytes(Number(password.inputs.length));
      stubs.set(marker, [...bytes].map((byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join(''));
    }
    return stubs.get(marker) as string;
  });
}

/** `200`, `200-499`, `200,302` (ALB matcher syntax). */
function matcher(spec: string): (status: number) => boolean {
  return (status) =>
    spec.split(',').some((part) => {
      const [low = '', high = low] = part.split('-');
      return status >= Number(low) && status <= Number(high);
    });
}

/** An ECS container: `environment`, `secrets` from their SecretVersions, the container and target-group health checks. */
export function ecsContainer(graph: ResourceGraph, service: Resource, name: string): PlatformContainer {
  const definition = graph.byRef(T.taskDefinition, service.inputs.taskDefinition) as Resource;
  const container = containersOf(definition).find((candidate) => candidate.name === name);
  const stubs = new Map<string, string>();
  const env: Record<string, string> = {};
  for (const variable of container.environment ?? []) env[variable.name] = variable.value;
  for (const secret of container.secrets ?? []) {
    const parts = String(secret.valueFrom).split(':');
    const [jsonKey] = parts.slice(-3);
    const stored = graph.byRef(T.secret, parts.slice(0, -3).join(':')) as Resource;
    const version = graph
      .ofType(T.secretVersion)
      .find((candidate) => candidate.inputs.secretId === stored.id);
    if (!version)
      throw new Error(`${secret.name}: ${stored.name} has no SecretVersion; the task would not start`);
    env[secret.name] = stubGenerated(
      graph,
      String(JSON.parse(version.inputs.secretString)[jsonKey as string]),
      stubs,
    );
  }
  const probes: Probe[] = [];
  if (container.healthCheck)
    probes.push({
      source: 'ECS container health check',
      kind: 'command',
      argv: container.healthCheck.command.slice(1),
    });
  const binding = service.inputs.loadBalancers?.find(
    (candidate: { containerName: string }) => candidate.containerName === name,
  );
  const targetGroup = binding && graph.byRef(T.targetGroup, binding.targetGroupArn);
  if (targetGroup?.inputs.healthCheck?.enabled) {
    const check = targetGroup.inputs.healthCheck;
    if (check.port !== 'traffic-port')
      throw new Error(`${targetGroup.name} checks port ${check.port}; the replay maps only the traffic port`);
    probes.push({
      source: `ALB target group ${targetGroup.name}`,
      kind: 'http',
      path: check.path,
      accepts: matcher(check.matcher),
    });
  }
  return {
    env,
    containerPort: container.portMappings[0].containerPort,
    overrides: { entrypoint: container.entryPoint, cmd: container.command },
    probes,
  };
}

/** A pod container: `env` values, `secretKeyRef` from the Kubernetes Secret, `fieldRef` metadata.name; its three probes. */
export function podContainer(
  graph: ResourceGraph,
  deployment: Resource,
  name: string,
  podName: string,
): PlatformContainer {
  const namespace = deployment.inputs.metadata?.namespace ?? 'default';
  const container = deployment.inputs.spec.template.spec.containers.find(
    (candidate: { name: string }) => candidate.name === name,
  );
  const stubs = new Map<string, string>();
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
    } else if (ref) {
      const secret = graph
        .ofType(T.k8sSecret)
        .find(
          (candidate) =>
            candidate.inputs.metadata?.name === ref.name &&
            candidate.inputs.metadata?.namespace === namespace,
        );
      const value = secret?.inputs.stringData?.[ref.key];
      if (value === undefined)
        throw new Error(
          `${variable.name}: no key ${ref.key} in Secret ${namespace}/${ref.name}; the pod would not start`,
        );
      env[variable.name] = stubGenerated(graph, String(value), stubs);
    } else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') {
      env[variable.name] = podName;
    } else {
      throw new Error(`${variable.name}: the replay does not model ${JSON.stringify(variable.valueFrom)}`);
    }
  }
  const ports: Record<string, number> = Object.fromEntries(
    container.ports.map((port: { name: string; containerPort: number }) => [port.name, port.containerPort]),
  );
  const probes: Probe[] = [];
  for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
    const probe = container[kind];
    if (!probe) continue;
    // "Any code greater than or equal to 200 and less than 400 indicates success" (Kubernetes probes).
    if (probe.httpGet)
      probes.push({
        source: `Kubernetes ${kind}`,
        kind: 'http',
        path: probe.httpGet.path,
        accepts: (status) => status >= 200 && status < 400,
      });
    else if (probe.tcpSocket) probes.push({ source: `Kubernetes ${kind}`, kind: 'tcp' });
    const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
    if ((typeof port === 'string' ? ports[port] : port) !== container.ports[0].containerPort) {
      throw new Error(`${kind} probes port ${port}; the replay maps only the container port`);
    }
  }
  return {
    env,
    containerPort: container.ports[0].containerPort,
    overrides: { entrypoint: container.command, cmd: container.args },
    probes,
  };
}
