import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { ProbeConfig, ServerConfig } from '../config.js';
import { drainTimings } from '../shared/runtime.js';

export interface PodArgs {
  name: string;
  server: ServerConfig;
  image: pulumi.Input<string>;
  labels: Record<string, string>;
  /** Plain variables. */
  env: Record<string, pulumi.Input<string>>;
  /** Variable names read from the server's Secret by key; the values never enter the pod spec. */
  secretNames: string[];
  /** The Kubernetes Secret holding them. */
  secretName: string;
  serviceAccountName: string;
  /** Only servers that call AWS get a service-account token (Pod Identity needs it). */
  mountServiceAccountToken: boolean;
  /** METRICS_PORT, when the server serves /metrics on a port of its own (never the Service's). */
  metricsPort?: number;
}

function probe(config: ProbeConfig): k8s.types.input.core.v1.Probe {
  return {
    ...(config.type === 'http'
      ? { httpGet: { path: config.path, port: 'http' } }
      : { tcpSocket: { port: 'http' } }),
    initialDelaySeconds: config.initialDelaySeconds,
    periodSeconds: config.periodSeconds,
    timeoutSeconds: config.timeoutSeconds,
    failureThreshold: config.failureThreshold,
  };
}

/** CPU units (1024 = 1 vCPU, the Fargate unit the config uses) → Kubernetes millicores. */
export function millicores(cpuUnits: number): string {
  return `${Math.round((cpuUnits * 1000) / 1024)}m`;
}

/** The pod template: hardened, drain-safe, spread across zones. */
export function podSpec(args: PodArgs): k8s.types.input.core.v1.PodSpec {
  const { server } = args;
  const drain = drainTimings(server);
  const env: k8s.types.input.core.v1.EnvVar[] = [
    ...Object.entries(args.env)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => ({ name, value })),
    ...args.secretNames.map((name) => ({
      name,
      valueFrom: { secretKeyRef: { name: args.secretName, key: name } },
    })),
  ];
  if (server.build === 'app') {
    // The pod name is unique and shows up in logs and /health, which makes it a good node id.
    env.push({ name: 'NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  }
  return {
    serviceAccountName: args.serviceAccountName,
    automountServiceAccountToken: args.mountServiceAccountToken,
    terminationGracePeriodSeconds: drain.terminationGracePeriodSeconds,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: server.runAsUser,
      runAsGroup: server.runAsUser,
      fsGroup: server.runAsUser,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    topologySpreadConstraints: [
      {
        topologyKey: 'topology.kubernetes.io/zone',
        maxSkew: 1,
        // ScheduleAnyway: losing a zone must not leave replicas unschedulable.
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: args.labels },
      },
      {
        topologyKey: 'kubernetes.io/hostname',
        maxSkew: 1,
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: args.labels },
      },
    ],
    containers: [
      {
        name: args.name,
        image: args.image,
        ...(server.command ? { command: server.command } : {}),
        ...(server.args ? { args: server.args } : {}),
        ports: [
          { name: 'http', containerPort: server.port, protocol: 'TCP' },
          ...(args.metricsPort === undefined
            ? []
            : [{ name: 'metrics', containerPort: args.metricsPort, protocol: 'TCP' }]),
        ],
        env,
        livenessProbe: probe(server.probes.liveness),
        readinessProbe: probe(server.probes.readiness),
        startupProbe: probe(server.probes.startup),
        resources: {
          requests: { cpu: millicores(server.resources.cpu), memory: `${server.resources.memory}Mi` },
          // No CPU limit would let one pod starve its node; twice the request allows bursts.
          limits: { cpu: millicores(server.resources.cpu * 2), memory: `${server.resources.memory}Mi` },
        },
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: server.readOnlyRootFilesystem,
          capabilities: { drop: ['ALL'] },
        },
        // Keep serving while endpoints and nginx drop the pod, then SIGTERM starts the app's drain.
        lifecycle: { preStop: { sleep: { seconds: drain.preStopSleepSeconds } } },
        volumeMounts: server.readOnlyRootFilesystem ? [{ name: 'tmp', mountPath: '/tmp' }] : [],
      },
    ],
    volumes: server.readOnlyRootFilesystem ? [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }] : [],
  };
}
