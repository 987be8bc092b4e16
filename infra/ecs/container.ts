import * as pulumi from '@pulumi/pulumi';
import type { ServerConfig } from '../config.js';
import { type SecretEnv, valueFrom } from '../foundation/secrets.js';
import { drainTimings } from '../shared/runtime.js';
import { collectorContainer } from './metrics-collector.js';

export interface ContainerArgs {
  /** The container (and server) name. */
  name: string;
  server: ServerConfig;
  /** The image reference (a digest-pinned ECR ref for `build: app`). */
  image: pulumi.Input<string>;
  /** Plain variables; never credentials. */
  env: Record<string, pulumi.Input<string>>;
  /** Injected by ECS from Secrets Manager at start. */
  secrets: SecretEnv[];
  logGroupName: pulumi.Input<string>;
  region: pulumi.Input<string>;
  /** The metrics collector's configuration, when this task runs one next to the server. */
  collectorConfig?: pulumi.Input<string>;
}

/**
 * A health check the app image can run without curl: node is there, `fetch` is built in.
 * Third-party images may have neither node nor a shell, so they rely on the ALB health check.
 */
function healthCheck(server: ServerConfig) {
  if (server.build !== 'app' || server.probes.liveness.type !== 'http') return undefined;
  const { liveness, startup } = server.probes;
  const script = `fetch('http://127.0.0.1:${server.port}${liveness.path}').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))`;
  return {
    command: ['CMD', 'node', '-e', script],
    interval: Math.max(5, Math.min(300, liveness.periodSeconds)),
    timeout: Math.max(2, Math.min(60, liveness.timeoutSeconds)),
    retries: Math.min(10, liveness.failureThreshold),
    // ECS has no startup probe; the start period plays its part.
    startPeriod: Math.min(300, startup.periodSeconds * startup.failureThreshold),
  };
}

/**
 * The task definition's containerDefinitions JSON for one server. `command` in the stack is the
 * container's ENTRYPOINT (ECS `entryPoint`) and `args` its CMD (ECS `command`): either replaces the
 * image's own, exactly as Docker and Kubernetes do.
 */
export function containerDefinitions(args: ContainerArgs): pulumi.Output<string> {
  const { server } = args;
  const secrets = args.secrets.map((secret) => ({ name: secret.name, valueFrom: valueFrom(secret) }));
  return pulumi
    .all([
      pulumi.output(args.image),
      pulumi.output(secrets),
      pulumi.output(args.env),
      args.logGroupName,
      args.region,
      pulumi.output(args.collectorConfig),
    ])
    .apply(([image, resolvedSecrets, env, logGroup, region, collector]) =>
      JSON.stringify([
        {
          name: args.name,
          image,
          essential: true,
          command: server.args,
          entryPoint: server.command,
          user: `${server.runAsUser}`,
          readonlyRootFilesystem: server.readOnlyRootFilesystem,
          portMappings: [{ containerPort: server.port, protocol: 'tcp', name: 'http', appProtocol: 'http' }],
          environment: Object.entries(env)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, value]) => ({ name, value })),
          secrets: resolvedSecrets,
          healthCheck: healthCheck(server),
          stopTimeout: drainTimings(server).stopTimeoutSeconds,
          // An init process reaps zombies and forwards SIGTERM to the server so it can drain.
          linuxParameters: { initProcessEnabled: true, capabilities: { drop: ['ALL'] } },
          // A scratch /tmp under a read-only root. Fargate creates it root-owned, so a non-root user
          // cannot write it (aws/containers-roadmap#938): the app writes nothing to disk, and
          // third-party images default to a writable root instead (infra/config/server.ts).
          mountPoints: server.readOnlyRootFilesystem
            ? [{ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false }]
            : [],
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': logGroup,
              'awslogs-region': region,
              'awslogs-stream-prefix': args.name,
            },
          },
        },
        ...(collector
          ? [collectorContainer({ config: collector, appContainer: args.name, logGroup, region })]
          : []),
      ]),
    );
}
