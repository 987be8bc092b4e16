import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { isPublic, type ServerConfig } from '../config.js';
import { type SecretEnv, secretDependencies, secretsRevision } from '../foundation/secrets.js';
import { drainTimings } from '../shared/runtime.js';
import { addAutoscaling } from './autoscaling.js';
import { containerDefinitions } from './container.js';
import type { LoadBalancer } from './load-balancer.js';
import { collectorConfig, type MetricsSink } from './metrics-collector.js';
import { routeRules, routeTransforms } from './routing.js';
import { taskRoles } from './task-roles.js';

export interface FargateServerArgs {
  /** Validated server config from the stack's `servers` map. */
  server: ServerConfig;
  /** Image reference to run. */
  image: pulumi.Input<string>;
  /** Plain environment (no credentials). */
  env: Record<string, pulumi.Input<string>>;
  /** Secrets injected through the task definition's `secrets`. */
  secrets: SecretEnv[];
  clusterArn: pulumi.Input<string>;
  clusterName: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  /** Tasks run in private subnets with no public IP. */
  subnetIds: pulumi.Input<string>[];
  /**
   * How clients reach the server: through the ALB's rules (the app, a stateless third-party server),
   * or only through the app's gateway, which finds the tasks by their Cloud Map A records.
   */
  exposure:
    | { kind: 'alb'; loadBalancer: LoadBalancer }
    | { kind: 'gateway'; registryArn: pulumi.Input<string> };
  /** Lets this server's tasks open connections to Redis (only for servers that use it). */
  allowRedis?: (label: string, securityGroupId: pulumi.Output<string>, parent: pulumi.Resource) => void;
  /** The app's METRICS_PORT and where the in-task collector ships what it scrapes there. */
  metrics?: { sink: MetricsSink; port: number; scrapeIntervalSeconds: number };
  /** Seconds ECS ignores failing ALB health checks after a task starts. */
  healthCheckGracePeriodSeconds: number;
  logRetentionDays: number;
  cpuArchitecture: 'X86_64' | 'ARM64';
  region: pulumi.Input<string>;
  tags: Record<string, string>;
}

/** One MCP server on Fargate: task definition, service, target group and routing rule, autoscaling. */
export class FargateServer extends pulumi.ComponentResource {
  readonly serviceName: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: FargateServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:ecs:FargateServer', name, {}, opts);
    const built = buildFargateServer(this, name, args);
    this.serviceName = built.service.name;
    this.securityGroupId = built.securityGroup.id;
    this.registerOutputs({ serviceName: this.serviceName });
  }
}

/**
 * The task's own security group. Inbound: the ALB on the server's port, or, for a server behind the
 * app's gateway, the app's tasks only (the platform adds that rule: infra/ecs/upstreams.ts).
 * The provider removes AWS's default allow-all egress from every
 * group it creates (node_modules/@pulumi/aws/ec2/securityGroup.d.ts), so each outbound path is a rule:
 * - 443 anywhere: ECR (API, and image layers from S3), Secrets Manager and CloudWatch Logs (Fargate
 *   1.4+ reaches them through the task's own interface, via NAT: "Fargate task networking"), the
 *   collector's exporter (CloudWatch Logs or aps-workspaces), and a server's own HTTPS APIs;
 * - 6379 to the Redis security group, for servers that use it (`allowRedis`).
 * DNS needs no rule: security groups do not filter traffic to the VPC's Amazon DNS server ("Security
 * group rules", VPC user guide). The collector scrapes the app over loopback, which no group filters.
 */
function taskSecurityGroup(parent: pulumi.Resource, name: string, args: FargateServerArgs) {
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-sg`,
    {
      vpcId: args.vpcId,
      description: `MCP server ${name}: from ${args.exposure.kind === 'alb' ? 'the ALB' : 'the app'} only`,
      tags: args.tags,
    },
    { parent },
  );
  if (args.exposure.kind === 'alb') {
    args.exposure.loadBalancer.allowTo(name, securityGroup.id, args.server.port, parent);
  }
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-out-https`,
    {
      securityGroupId: securityGroup.id,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrIpv4: '0.0.0.0/0',
      description: 'ECR, Secrets Manager, CloudWatch, metrics exporter, HTTPS APIs',
    },
    { parent },
  );
  if (args.server.redis && args.allowRedis) args.allowRedis(name, securityGroup.id, parent);
  return securityGroup;
}

function buildFargateServer(parent: pulumi.Resource, name: string, args: FargateServerArgs) {
  const opts = { parent };
  const { server } = args;
  const securityGroup = taskSecurityGroup(parent, name, args);

  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    { retentionInDays: args.logRetentionDays, tags: args.tags },
    opts,
  );
  const roles = taskRoles(parent, name, {
    secrets: args.secrets,
    awsPolicyArns: server.awsPolicyArns,
    metricsStatement: args.metrics?.sink.statement,
    tags: args.tags,
  });
  // Every value the task reads at start must exist before ECS can start it.
  const startsAfter = secretDependencies(args.secrets);

  const taskDefinition = new aws.ecs.TaskDefinition(
    `${name}-task`,
    {
      family: `mcp-fleet-${pulumi.getStack()}-${name}`,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: String(server.resources.cpu),
      memory: String(server.resources.memory),
      runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: args.cpuArchitecture },
      executionRoleArn: roles.execution.arn,
      taskRoleArn: roles.task.arn,
      volumes: server.readOnlyRootFilesystem ? [{ name: 'tmp' }] : [],
      containerDefinitions: containerDefinitions({
        name,
        server,
        image: args.image,
        env: args.env,
        secrets: args.secrets,
        logGroupName: logGroup.name,
        region: args.region,
        collectorConfig: args.metrics
          ? collectorConfig({
              sink: args.metrics.sink,
              server: name,
              metricsPort: args.metrics.port,
              scrapeIntervalSeconds: args.metrics.scrapeIntervalSeconds,
              region: args.region,
            })
          : undefined,
      }),
      tags: args.tags,
    },
    { parent, dependsOn: startsAfter },
  );

  const route =
    args.exposure.kind === 'alb' ? albRoute(parent, name, args, args.exposure.loadBalancer) : undefined;
  const autoscaled = server.autoscaling.enabled;
  const rollOnSecretChange = args.secrets.length > 0;
  const service = new aws.ecs.Service(
    `${name}-service`,
    {
      cluster: args.clusterArn,
      taskDefinition: taskDefinition.arn,
      launchType: 'FARGATE',
      desiredCount: autoscaled ? server.autoscaling.min : server.replicas,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      // Only valid with a load balancer: a service without one fails to deploy with it set
      // (aws-cloudformation/cfn-lint#3612; ECS "Service definition parameters").
      ...(route ? { healthCheckGracePeriodSeconds: args.healthCheckGracePeriodSeconds } : {}),
      // `pulumi up` succeeds only once the tasks run and pass their health checks; a deployment
      // the circuit breaker stops fails the update instead of reporting success with 0 tasks.
      waitForSteadyState: true,
      // The task definition names only secret ARNs, so a new value changes nothing in it: the
      // trigger (the SecretVersion ids) starts a deployment, and new tasks read the new values.
      ...(rollOnSecretChange
        ? { forceNewDeployment: true, triggers: { secrets: secretsRevision(args.secrets) } }
        : {}),
      networkConfiguration: {
        subnets: args.subnetIds,
        securityGroups: [securityGroup.id],
        assignPublicIp: false,
      },
      ...(route
        ? {
            loadBalancers: [
              { targetGroupArn: route.targetGroup.arn, containerName: name, containerPort: server.port },
            ],
          }
        : {}),
      // One A record per task in the stack's Cloud Map namespace: the gateway's instances. ECS
      // registers a task once it runs (and passes its container health check, if it has one) and
      // deregisters it when it stops ("Use service discovery to connect Amazon ECS services with DNS
      // names", ECS developer guide).
      ...(args.exposure.kind === 'gateway'
        ? { serviceRegistries: { registryArn: args.exposure.registryArn } }
        : {}),
      propagateTags: 'SERVICE',
      enableEcsManagedTags: true,
      tags: args.tags,
    },
    // The autoscaler owns desiredCount once it exists; a deploy must not reset it to the minimum.
    {
      parent,
      dependsOn: [...(route ? [...route.rules, route.listener] : []), ...startsAfter],
      ignoreChanges: autoscaled ? ['desiredCount'] : [],
    },
  );
  if (autoscaled) {
    addAutoscaling(parent, name, {
      clusterName: args.clusterName,
      serviceName: service.name,
      min: server.autoscaling.min,
      max: server.autoscaling.max,
      cpuTarget: server.autoscaling.cpuTarget,
      requestsPerTarget: server.autoscaling.requestsPerTarget,
      // A server behind the gateway gets no ALB request count: it scales on CPU.
      requestLabel: route
        ? pulumi.interpolate`${route.loadBalancer.arnSuffix}/${route.targetGroup.arnSuffix}`
        : undefined,
    });
  }
  return { securityGroup, service };
}

/** The target group (health-checked on the readiness path) and the listener rules of a public server. */
function albRoute(
  parent: pulumi.Resource,
  name: string,
  args: FargateServerArgs,
  loadBalancer: LoadBalancer,
) {
  const opts = { parent };
  const { server } = args;
  if (!isPublic(server))
    throw new Error(`server ${name} has no ingress; this is a bug in infra/ecs/index.ts`);
  const { readiness } = server.probes;
  const targetGroup = new aws.lb.TargetGroup(
    `${name}-tg`,
    {
      vpcId: args.vpcId,
      targetType: 'ip',
      protocol: 'HTTP',
      port: server.port,
      deregistrationDelay: drainTimings(server).deregistrationDelaySeconds,
      // Long-lived SSE streams make request counts a poor load signal; outstanding requests are better.
      loadBalancingAlgorithmType: 'least_outstanding_requests',
      healthCheck: {
        enabled: true,
        protocol: 'HTTP',
        port: 'traffic-port',
        // A tcp readiness probe means the image has no health route: any HTTP answer counts as alive.
        path: readiness.type === 'http' ? readiness.path : '/',
        matcher: readiness.type === 'http' ? '200' : '200-499',
        interval: Math.max(5, Math.min(300, readiness.periodSeconds)),
        timeout: Math.max(2, Math.min(readiness.timeoutSeconds, readiness.periodSeconds - 1, 120)),
        healthyThreshold: 2,
        unhealthyThreshold: Math.max(2, Math.min(10, readiness.failureThreshold)),
      },
      tags: args.tags,
    },
    opts,
  );
  const transforms = routeTransforms(server);
  // The first rule keeps the name it always had, so an existing stack updates it in place.
  const rules = routeRules(server).map(
    (rule, index) =>
      new aws.lb.ListenerRule(
        index === 0 ? `${name}-route` : `${name}-route-${index + 1}`,
        {
          listenerArn: loadBalancer.listenerArn,
          priority: rule.priority,
          actions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
          conditions: rule.conditions,
          ...(transforms.length > 0 ? { transforms } : {}),
          tags: args.tags,
        },
        opts,
      ),
  );
  return { targetGroup, rules, loadBalancer, listener: loadBalancer.listener };
}
