import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ServerConfig } from '../config.js';
import type { SecretEnv } from '../foundation/secrets.js';
import { drainTimings } from '../shared/runtime.js';
import { addAutoscaling } from './autoscaling.js';
import { containerDefinitions } from './container.js';
import type { LoadBalancer } from './load-balancer.js';

export interface FargateServerArgs {
  /** Validated server config from the stack's `servers` map. */
  server: ServerConfig;
  /** Image reference to run. */
  image: pulumi.Input<string>;
  /** Plain environment (no credentials). */
  env: Record<string, string>;
  /** Secrets injected through the task definition's `secrets`. */
  secrets: SecretEnv[];
  clusterArn: pulumi.Input<string>;
  clusterName: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  /** Tasks run in private subnets with no public IP. */
  subnetIds: pulumi.Input<string>[];
  loadBalancer: LoadBalancer;
  /** ALB listener-rule priority; lower wins, so more specific routes get lower numbers. */
  rulePriority: number;
  /** Admit this server's tasks to Redis (only for servers that use it). */
  allowRedis?: (label: string, securityGroupId: pulumi.Output<string>, parent: pulumi.Resource) => void;
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
  readonly targetGroupArn: pulumi.Output<string>;

  constructor(name: string, args: FargateServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:ecs:FargateServer', name, {}, opts);
    const built = buildFargateServer(this, name, args);
    this.serviceName = built.service.name;
    this.securityGroupId = built.securityGroup.id;
    this.targetGroupArn = built.targetGroup.arn;
    this.registerOutputs({ serviceName: this.serviceName });
  }
}

function buildFargateServer(parent: pulumi.Resource, name: string, args: FargateServerArgs) {
  const opts = { parent };
  const { server } = args;
  const drain = drainTimings(server);

  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-sg`,
    { vpcId: args.vpcId, description: `MCP server ${name}: from the ALB only`, tags: args.tags },
    opts,
  );
  args.loadBalancer.allowTo(name, securityGroup.id, server.port, parent);
  // Outbound 443 only: ECR, Secrets Manager, CloudWatch Logs and the server's own HTTPS APIs.
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-out-https`,
    {
      securityGroupId: securityGroup.id,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrIpv4: '0.0.0.0/0',
    },
    opts,
  );
  if (server.redis && args.allowRedis) {
    args.allowRedis(name, securityGroup.id, parent);
  }

  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    { retentionInDays: args.logRetentionDays, tags: args.tags },
    opts,
  );
  const roles = taskRoles(parent, name, args);

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
      }),
      tags: args.tags,
    },
    opts,
  );

  const { readiness } = server.probes;
  const targetGroup = new aws.lb.TargetGroup(
    `${name}-tg`,
    {
      vpcId: args.vpcId,
      targetType: 'ip',
      protocol: 'HTTP',
      port: server.port,
      deregistrationDelay: drain.deregistrationDelaySeconds,
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
  const rule = new aws.lb.ListenerRule(
    `${name}-route`,
    {
      listenerArn: args.loadBalancer.listenerArn,
      priority: args.rulePriority,
      actions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
      conditions: routeConditions(server),
      tags: args.tags,
    },
    opts,
  );

  const autoscaled = server.autoscaling.enabled;
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
      healthCheckGracePeriodSeconds: args.healthCheckGracePeriodSeconds,
      networkConfiguration: {
        subnets: args.subnetIds,
        securityGroups: [securityGroup.id],
        assignPublicIp: false,
      },
      loadBalancers: [{ targetGroupArn: targetGroup.arn, containerName: name, containerPort: server.port }],
      propagateTags: 'SERVICE',
      enableEcsManagedTags: true,
      tags: args.tags,
    },
    // The autoscaler owns desiredCount once it exists; a deploy must not reset it to the minimum.
    {
      parent,
      dependsOn: [rule, args.loadBalancer.listener],
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
      requestLabel: pulumi.interpolate`${args.loadBalancer.arnSuffix}/${targetGroup.arnSuffix}`,
    });
  }
  return { securityGroup, service, targetGroup };
}

/** Host and/or path conditions; `/` alone matches everything on that host. */
export function routeConditions(server: ServerConfig): aws.types.input.lb.ListenerRuleCondition[] {
  const path = server.ingress.path.replace(/\/$/, '');
  const conditions: aws.types.input.lb.ListenerRuleCondition[] = [
    { pathPattern: { values: path === '' ? ['/*'] : [path, `${path}/*`] } },
  ];
  if (server.ingress.host) conditions.push({ hostHeader: { values: [server.ingress.host] } });
  return conditions;
}

function taskRoles(parent: pulumi.Resource, name: string, args: FargateServerArgs) {
  const assumeRolePolicy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  });
  const execution = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy, tags: args.tags }, { parent });
  new aws.iam.RolePolicyAttachment(
    `${name}-execution`,
    {
      role: execution.name,
      policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy',
    },
    { parent },
  );
  const secretArns = [...new Set(args.secrets.map((secret) => secret.secretArn))];
  if (secretArns.length > 0) {
    // The execution role reads exactly this server's secrets, nothing else in the account.
    new aws.iam.RolePolicy(
      `${name}-read-secrets`,
      {
        role: execution.id,
        policy: pulumi.all(secretArns).apply((arns) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: [...new Set(arns)].sort(),
              },
            ],
          }),
        ),
      },
      { parent },
    );
  }
  const task = new aws.iam.Role(`${name}-task`, { assumeRolePolicy, tags: args.tags }, { parent });
  args.server.awsPolicyArns.forEach((policyArn, index) => {
    new aws.iam.RolePolicyAttachment(`${name}-task-${index}`, { role: task.name, policyArn }, { parent });
  });
  return { execution, task };
}
