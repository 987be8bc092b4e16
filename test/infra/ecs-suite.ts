import { beforeAll, describe, expect, it } from 'vitest';
import { ALB_DNS, assertSecretsOnlyWhereAllowed, expectedFor } from './expectations.js';
import { type ProgramRun, promiseOf, type Stack } from './harness.js';

const T = {
  alb: 'aws:lb/loadBalancer:LoadBalancer',
  listener: 'aws:lb/listener:Listener',
  rule: 'aws:lb/listenerRule:ListenerRule',
  targetGroup: 'aws:lb/targetGroup:TargetGroup',
  service: 'aws:ecs/service:Service',
  task: 'aws:ecs/taskDefinition:TaskDefinition',
  cluster: 'aws:ecs/cluster:Cluster',
  scalingTarget: 'aws:appautoscaling/target:Target',
  scalingPolicy: 'aws:appautoscaling/policy:Policy',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  ingress: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  egress: 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
} as const;

interface Container {
  name: string;
  user: string;
  readonlyRootFilesystem: boolean;
  stopTimeout: number;
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  healthCheck?: { command: string[]; startPeriod: number };
  logConfiguration: { logDriver: string; options: Record<string, string> };
  linuxParameters: { initProcessEnabled: boolean; capabilities: { drop: string[] } };
}

/** The ECS Fargate behaviour users rely on, asserted against one stack's real config. */
export function describeEcs(stack: Stack, program: () => ProgramRun): void {
  const want = expectedFor(stack);
  const container = (server: string): Container => {
    const definitions = JSON.parse(
      program().one(T.task, `${server}-task`).inputs.containerDefinitions,
    ) as Container[];
    const found = definitions.filter((definition) => definition.name === server);
    expect(found).toHaveLength(1);
    return found[0] as Container;
  };

  describe(`ECS Fargate on ${stack}`, () => {
    let run: ProgramRun;
    beforeAll(() => {
      run = program();
    });

    it('keeps SSE streams open for an hour at the ALB, which faces the internet', () => {
      const alb = run.one(T.alb, 'mcp-fleet-alb').inputs;
      expect(alb.idleTimeout).toBe(3600);
      expect(alb.internal).toBe(false);
      expect(alb.enableDeletionProtection).toBe(want.deletionProtection);
    });

    it(
      want.https
        ? 'serves HTTPS with the certificate ACM issued for the domain, and redirects HTTP to it'
        : 'serves plain HTTP on the load balancer name, as the stack has no domain',
      () => {
        const http = run.one(T.listener, 'mcp-fleet-http').inputs;
        if (!want.https) {
          expect(run.ofType(T.listener).map((listener) => listener.name)).toEqual(['mcp-fleet-http']);
          expect(http).toMatchObject({ port: 80, protocol: 'HTTP' });
          return;
        }
        const https = run.one(T.listener, 'mcp-fleet-https').inputs;
        expect(https.protocol).toBe('HTTPS');
        // The validated certificate, so the listener waits until ACM has issued it.
        expect(https.certificateArn).toBe(
          run.one('aws:acm/certificateValidation:CertificateValidation', 'mcp-fleet-cert').inputs
            .certificateArn,
        );
        expect(https.sslPolicy).toMatch(/TLS13/);
        expect(http.defaultActions[0].redirect).toMatchObject({
          protocol: 'HTTPS',
          port: '443',
          statusCode: 'HTTP_301',
        });
      },
    );

    it('answers the operations routes 404 from the internet, before any server route', () => {
      const rules = run.ofType(T.rule).filter((rule) => rule.name.endsWith('-private-paths'));
      expect(rules).toHaveLength(1);
      const rule = rules[0]!.inputs;
      expect(rule.priority).toBe(1);
      expect(rule.conditions).toEqual([
        { pathPattern: { values: ['/health', '/ready', '/live', '/metrics', '/metrics/*'] } },
      ]);
      expect(rule.actions[0]).toMatchObject({ type: 'fixed-response', fixedResponse: { statusCode: '404' } });
      const routes = run.ofType(T.rule).filter((r) => /-route(-\d+)?$/.test(r.name));
      expect(routes.length).toBeGreaterThan(0);
      expect(routes.every((route) => route.inputs.priority > rule.priority)).toBe(true);
    });

    it(
      want.hosts
        ? "routes only the app's client paths on its host, and nothing to the third-party server"
        : "routes only the app's client paths on the load balancer's name, and nothing to the third-party server",
      () => {
        const routes = run.ofType(T.rule).filter((rule) => /-route(-\d+)?$/.test(rule.name));
        const paths = routes.flatMap((rule) => {
          const conditions = rule.inputs.conditions as {
            hostHeader?: unknown;
            pathPattern?: { values: string[] };
          }[];
          if (want.hosts) expect(conditions).toContainEqual({ hostHeader: { values: [want.hosts.app] } });
          else expect(conditions.some((c) => c.hostHeader)).toBe(false);
          // An ALB rule holds at most 5 condition values, the host included.
          expect(
            conditions.flatMap((c) => (c.hostHeader ? ['host'] : (c.pathPattern?.values ?? []))).length,
          ).toBeLessThanOrEqual(5);
          expect(rule.inputs.actions[0]).toMatchObject({
            type: 'forward',
            targetGroupArn: expect.stringContaining('app-tg'),
          });
          return conditions.flatMap((c) => c.pathPattern?.values ?? []);
        });
        expect(paths.sort()).toEqual(['/.well-known/*', '/mcp', '/messages', '/servers/*', '/sse']);
        expect(routes.map((rule) => rule.name).sort()).toEqual(
          want.hosts ? ['app-route', 'app-route-2'] : ['app-route'],
        );
        expect(run.ofType(T.targetGroup).map((tg) => tg.name)).toEqual(['app-tg']);
      },
    );

    it("registers the third-party server's tasks in Cloud Map, one A record per task, and gives it no load balancer", () => {
      const namespace = run.one(
        'aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace',
        'mcp-fleet-upstreams',
      ).inputs;
      expect(namespace).toMatchObject({ name: 'mcp-fleet.internal', vpc: 'mcp-fleet-vpc-id' });
      const discovery = run.one('aws:servicediscovery/service:Service', 'everything-discovery');
      expect(discovery.inputs).toMatchObject({
        name: 'everything',
        dnsConfig: {
          namespaceId: 'mcp-fleet-upstreams-id',
          dnsRecords: [{ type: 'A', ttl: 5 }],
          routingPolicy: 'MULTIVALUE',
        },
        healthCheckCustomConfig: {},
      });
      const service = run.one(T.service, 'everything-service').inputs;
      expect(service.serviceRegistries).toEqual({ registryArn: discovery.state.arn });
      expect(service.loadBalancers).toBeUndefined();
      // ECS refuses a health-check grace period on a service without a load balancer.
      expect(service.healthCheckGracePeriodSeconds).toBeUndefined();
    });

    it('health-checks the app on its readiness path and drains for the app drain period', () => {
      const tg = run.one(T.targetGroup, 'app-tg').inputs;
      expect(tg.targetType).toBe('ip');
      expect(tg.port).toBe(3000);
      expect(tg.healthCheck).toMatchObject({
        path: '/ready',
        port: 'traffic-port',
        matcher: '200',
        protocol: 'HTTP',
      });
      expect(tg.deregistrationDelay).toBe(25);
    });

    it('rolls back a failing deployment and never drops below the running capacity', () => {
      for (const server of want.servers) {
        const service = run.one(T.service, `${server}-service`).inputs;
        expect(service.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
        expect(service.deploymentMinimumHealthyPercent).toBe(100);
        expect(service.deploymentMaximumPercent).toBe(200);
        expect(service.launchType).toBe('FARGATE');
        expect(service.networkConfiguration.assignPublicIp).toBe(false);
      }
      const app = run.one(T.service, 'app-service').inputs;
      expect(app.healthCheckGracePeriodSeconds).toBe(60);
      expect(app.loadBalancers[0]).toMatchObject({ containerName: 'app' });
    });

    it('scales the app between the configured min and max on CPU and on requests per target', () => {
      const target = run.one(T.scalingTarget, 'app-scaling').inputs;
      expect(target.minCapacity).toBe(want.appScaling.min);
      expect(target.maxCapacity).toBe(want.appScaling.max);
      expect(run.one(T.service, 'app-service').inputs.desiredCount).toBe(want.appScaling.min);
      const cpu = run.one(T.scalingPolicy, 'app-cpu').inputs.targetTrackingScalingPolicyConfiguration;
      expect(cpu.predefinedMetricSpecification.predefinedMetricType).toBe('ECSServiceAverageCPUUtilization');
      expect(cpu.targetValue).toBe(want.appScaling.cpuTarget);
      const requests = run.one(T.scalingPolicy, 'app-requests').inputs
        .targetTrackingScalingPolicyConfiguration;
      expect(requests.predefinedMetricSpecification).toEqual({
        predefinedMetricType: 'ALBRequestCountPerTarget',
        resourceLabel: 'app/mcp-fleet-alb/0123/targetgroup/app-tg/4567',
      });
      if (!want.everythingScaling) {
        expect(run.ofType(T.scalingTarget).map((t) => t.name)).toEqual(['app-scaling']);
        expect(run.one(T.service, 'everything-service').inputs.desiredCount).toBe(want.everythingReplicas);
      }
    });

    it('scales the third-party server behind the gateway on CPU, as no ALB counts its requests', () => {
      if (!want.everythingScaling) {
        expect(run.ofType(T.scalingTarget).map((t) => t.name)).toEqual(['app-scaling']);
        return;
      }
      const target = run.one(T.scalingTarget, 'everything-scaling').inputs;
      expect([target.minCapacity, target.maxCapacity]).toEqual([
        want.everythingScaling.min,
        want.everythingScaling.max,
      ]);
      expect(run.one(T.service, 'everything-service').inputs.desiredCount).toBe(want.everythingScaling.min);
      expect(
        run
          .ofType(T.scalingPolicy)
          .filter((p) => p.name.startsWith('everything-'))
          .map((p) => p.name),
      ).toEqual(['everything-cpu']);
    });

    it('runs the app as a non-root user on a read-only root filesystem with all capabilities dropped', () => {
      const app = container('app');
      expect(app.user).toBe('1000');
      expect(app.readonlyRootFilesystem).toBe(true);
      expect(app.linuxParameters).toEqual({ initProcessEnabled: true, capabilities: { drop: ['ALL'] } });
      expect(run.one(T.task, 'app-task').inputs.volumes).toEqual([{ name: 'tmp' }]);
    });

    it('gives the app time to drain before SIGKILL, within the Fargate limit', () => {
      expect(container('app').stopTimeout).toBe(30);
      expect(container('everything').stopTimeout).toBeLessThanOrEqual(120);
    });

    it('checks container health with node against /live (the slim image has no curl)', () => {
      const check = container('app').healthCheck;
      expect(check?.command.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      expect(check?.command[3]).toContain('http://127.0.0.1:3000/live');
    });

    it('injects every secret through `secrets`, never through `environment`', () => {
      const app = container('app');
      const envNames = app.environment.map((variable) => variable.name);
      for (const secret of ['REDIS_URL', 'MCP_STATE_KEY', 'AUTH_API_KEYS']) {
        expect(envNames).not.toContain(secret);
        expect(app.secrets.find((s) => s.name === secret)?.valueFrom).toMatch(
          new RegExp(`^arn:aws:.*:${secret}::$`),
        );
      }
      expect(app.environment).toContainEqual({ name: 'SHUTDOWN_GRACE_SECONDS', value: '25' });
      expect(app.environment).toContainEqual({ name: 'PORT', value: '3000' });
      // The third-party server does not use Redis, so it gets no Redis credentials.
      expect(container('everything').secrets).toEqual([]);
    });

    it("sets the app's authentication and public address as plain env, and the API keys only as a secret", () => {
      const app = container('app');
      const env = Object.fromEntries(app.environment.map((variable) => [variable.name, variable.value]));
      expect(env).toMatchObject({ ...want.appSecurityEnv, NODE_ENV: 'production' });
      expect(app.secrets.map((secret) => secret.name)).toContain('AUTH_API_KEYS');
      // The third-party image is not ours: it gets none of the app's security settings.
      const everything = container('everything').environment.map((variable) => variable.name);
      for (const name of Object.keys(want.appSecurityEnv)) expect(everything).not.toContain(name);
    });

    it('lets the execution role read only the secrets the server is given', () => {
      const policy = JSON.parse(run.one(T.rolePolicy, 'app-read-secrets').inputs.policy);
      expect(policy.Statement).toHaveLength(1);
      expect(policy.Statement[0].Action).toBe('secretsmanager:GetSecretValue');
      expect(policy.Statement[0].Resource).not.toContain('*');
      expect(policy.Statement[0].Resource.length).toBe(3);
    });

    it('keeps plaintext secret values out of every resource input except the secret stores', () => {
      assertSecretsOnlyWhereAllowed(run);
    });

    it('ships logs to CloudWatch with the configured retention', () => {
      for (const server of want.servers) {
        expect(run.one(T.logGroup, `${server}-logs`).inputs.retentionInDays).toBe(want.logRetentionDays);
        expect(container(server).logConfiguration.logDriver).toBe('awslogs');
      }
    });

    it('opens tasks to the ALB only, on the container port; only the ALB listens to the world', () => {
      const appIn = run.one(T.ingress, 'app-from-mcp-fleet').inputs;
      expect(appIn).toMatchObject({
        referencedSecurityGroupId: 'mcp-fleet-sg-id',
        fromPort: 3000,
        toPort: 3000,
      });
      expect(appIn.cidrIpv4).toBeUndefined();
      const worldOpen = run.ofType(T.ingress).filter((rule) => rule.inputs.cidrIpv4 !== undefined);
      expect(worldOpen.map((rule) => [rule.inputs.securityGroupId, rule.inputs.fromPort]).sort()).toEqual(
        want.https
          ? [
              ['mcp-fleet-sg-id', 443],
              ['mcp-fleet-sg-id', 80],
            ]
          : [['mcp-fleet-sg-id', 80]],
      );
      const albOut = run.one(T.egress, 'mcp-fleet-to-app').inputs;
      expect(albOut).toMatchObject({ referencedSecurityGroupId: 'app-sg-id', fromPort: 3000 });
    });

    it('admits only the app tasks to Redis, on 6379', () => {
      const toRedis = run
        .ofType(T.ingress)
        .filter((rule) => rule.inputs.securityGroupId === 'mcp-fleet-redis-sg-id');
      expect(toRedis.map((rule) => rule.inputs)).toEqual([
        expect.objectContaining({ referencedSecurityGroupId: 'app-sg-id', fromPort: 6379, toPort: 6379 }),
      ]);
    });

    it('enables Container Insights on the cluster', () => {
      expect(run.one(T.cluster, 'mcp-fleet-cluster').inputs.settings).toEqual([
        { name: 'containerInsights', value: want.containerInsights },
      ]);
    });

    it('exports each server URL, the Redis endpoint without its token, the image and the cluster', async () => {
      expect(await promiseOf(run.outputs.serverUrls)).toEqual(want.urls);
      expect(await promiseOf(run.outputs.loadBalancerDnsName)).toBe(ALB_DNS);
      expect(await promiseOf(run.outputs.redisEndpoint)).toBe(
        'master.mcp-fleet-redis-group.cache.amazonaws.com',
      );
      expect(await promiseOf(run.outputs.imageUri)).toMatch(/@sha256:/);
      expect(await promiseOf(run.outputs.clusterName)).toBe('mcp-fleet-cluster');
    });
  });
}
