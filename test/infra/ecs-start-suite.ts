import { beforeAll, describe, expect, it } from 'vitest';
import { ADOT_IMAGE, COLLECTOR_CONTAINER } from '../../infra/ecs/metrics-collector.js';
import { createdAfter, expectedFor } from './expectations.js';
import type { ProgramRun, Stack } from './harness.js';

const T = {
  task: 'aws:ecs/taskDefinition:TaskDefinition',
  service: 'aws:ecs/service:Service',
  rule: 'aws:lb/listenerRule:ListenerRule',
  egress: 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule',
  ingress: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  secretVersion: 'aws:secretsmanager/secretVersion:SecretVersion',
  redis: 'aws:elasticache/replicationGroup:ReplicationGroup',
  targetGroup: 'aws:lb/targetGroup:TargetGroup',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
} as const;

interface ContainerJson {
  name: string;
  image: string;
  essential: boolean;
  user?: string;
  entryPoint?: string[];
  command?: string[];
  environment: { name: string; value: string }[];
  dependsOn?: { containerName: string; condition: string }[];
  portMappings?: { containerPort: number }[];
}

/**
 * What ECS needs for a task to start and serve, and to pick up a new secret: the outbound paths,
 * the argv, the order of creation, the rollout trigger, the routes, and where metrics go.
 */
export function describeEcsStart(stack: Stack, program: () => ProgramRun): void {
  const want = expectedFor(stack);
  describe(`ECS tasks start and serve on ${stack}`, () => {
    let run: ProgramRun;
    const containers = (server: string) =>
      JSON.parse(run.one(T.task, `${server}-task`).inputs.containerDefinitions) as ContainerJson[];
    const byName = (server: string, name: string) =>
      containers(server).find((container) => container.name === name) as ContainerJson;
    beforeAll(() => {
      run = program();
    });

    it('lets the app tasks open connections to Redis: egress on 6379 to the Redis security group', () => {
      const egress = run.ofType(T.egress).filter((rule) => rule.inputs.securityGroupId === 'app-sg-id');
      expect(egress.map((rule) => rule.inputs)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            referencedSecurityGroupId: 'mcp-fleet-redis-sg-id',
            ipProtocol: 'tcp',
            fromPort: 6379,
            toPort: 6379,
          }),
          expect.objectContaining({ cidrIpv4: '0.0.0.0/0', fromPort: 443, toPort: 443 }),
          // The gateway's path to the third-party server, and only there.
          expect.objectContaining({
            referencedSecurityGroupId: 'everything-sg-id',
            fromPort: 3001,
            toPort: 3001,
          }),
        ]),
      );
      // The third-party server does not use Redis: no path to it.
      const everything = run
        .ofType(T.egress)
        .filter((rule) => rule.inputs.securityGroupId === 'everything-sg-id');
      expect(everything.map((rule) => rule.inputs.fromPort)).toEqual([443]);
    });

    it('starts the everything server with its full argv, from an image pinned by digest', () => {
      const everything = byName('everything', 'everything');
      expect(everything.image).toMatch(/^docker\.io\/mcp\/everything@sha256:[0-9a-f]{64}$/);
      // ECS entryPoint replaces the image's ENTRYPOINT and drops its CMD: this is the whole argv.
      expect(everything.entryPoint).toEqual(['node', 'dist/streamableHttp.js']);
      expect(everything.command).toBeUndefined();
      expect(everything.environment).toContainEqual({ name: 'PORT', value: '3001' });
    });

    it('creates each task definition and service after every value its tasks read at start', () => {
      const versions = ['mcp-fleet-redis-secret', 'mcp-fleet-state-key', 'mcp-fleet-app'].map(
        (name) => `${T.secretVersion}::${name}`,
      );
      for (const resource of [run.one(T.task, 'app-task'), run.one(T.service, 'app-service')]) {
        expect(createdAfter(resource)).toEqual(
          expect.arrayContaining([...versions, `${T.redis}::mcp-fleet-redis-group`]),
        );
      }
      // A deploy reports success only when the tasks run and pass their health checks.
      for (const server of want.servers) {
        expect(run.one(T.service, `${server}-service`).inputs.waitForSteadyState).toBe(true);
      }
    });

    it('rolls the app tasks when a secret value changes: a deployment trigger from the SecretVersion ids', () => {
      const app = run.one(T.service, 'app-service').inputs;
      expect(app.forceNewDeployment).toBe(true);
      expect(app.triggers).toEqual({ secrets: expect.stringMatching(/^[0-9a-f]{32}$/) });
      // No secret material in the trigger, only a digest of version ids.
      expect(JSON.stringify(app.triggers)).not.toContain('FAKE-SECRET');
      const everything = run.one(T.service, 'everything-service').inputs;
      expect(everything.triggers).toBeUndefined();
    });

    it("gives the app UPSTREAMS: the third-party server's Cloud Map name and port", () => {
      const env = Object.fromEntries(byName('app', 'app').environment.map((v) => [v.name, v.value]));
      expect(JSON.parse(env.UPSTREAMS as string)).toEqual({
        everything: { dns: 'everything.mcp-fleet.internal', port: 3001 },
      });
      // The platform's resolver (the VPC's) answers the Cloud Map name: no DNS server is pinned.
      expect(env.UPSTREAM_DNS_SERVERS).toBeUndefined();
      expect(byName('everything', 'everything').environment.map((v) => v.name)).not.toContain('UPSTREAMS');
    });

    it('keeps each app rule in the derived bands, the first at the priority the route always had', () => {
      const rules = run.ofType(T.rule).filter((rule) => /^app-route(-\d+)?$/.test(rule.name));
      const priorities = rules.map((rule) => rule.inputs.priority as number).sort((a, b) => a - b);
      expect(run.one(T.rule, 'app-route').inputs.priority).toBe(priorities[0]);
      for (const [index, priority] of priorities.entries()) {
        expect(priority).toBe((priorities[0] as number) + index);
      }
      for (const priority of priorities) {
        expect(priority).toBeGreaterThanOrEqual(100);
        expect(priority).toBeLessThanOrEqual(50_000);
      }
      for (const rule of rules) expect(rule.inputs.transforms).toBeUndefined();
    });

    it('serves /metrics on METRICS_PORT to an in-task collector, never through the ALB', () => {
      const app = byName('app', 'app');
      expect(app.environment).toContainEqual({ name: 'METRICS_PORT', value: '9464' });
      expect(app.portMappings?.map((mapping) => mapping.containerPort)).toEqual([3000]);
      expect(run.one(T.targetGroup, 'app-tg').inputs.port).toBe(3000);
      expect(run.one(T.ingress, 'app-from-mcp-fleet').inputs).toMatchObject({ fromPort: 3000, toPort: 3000 });

      const collector = byName('app', COLLECTOR_CONTAINER);
      expect(collector).toMatchObject({ image: ADOT_IMAGE, essential: false, user: '10001' });
      expect(collector.dependsOn).toEqual([{ containerName: 'app', condition: 'START' }]);
      const config = JSON.parse(
        collector.environment.find((variable) => variable.name === 'AOT_CONFIG_CONTENT')?.value ?? '{}',
      );
      expect(config.receivers.prometheus.config.scrape_configs[0].static_configs[0].targets).toEqual([
        '127.0.0.1:9464',
      ]);
      expect(config.exporters.awsemf).toMatchObject({
        log_group_name: `/mcp-fleet/${stack}/metrics`,
        namespace: `MCPFleet/${stack}`,
      });
      expect(config.service.pipelines.metrics).toEqual({
        receivers: ['prometheus'],
        processors: ['batch'],
        exporters: ['awsemf'],
      });
      // Third-party images get neither METRICS_PORT nor a collector.
      expect(containers('everything').map((container) => container.name)).toEqual(['everything']);
    });

    it(
      want.hosts
        ? 'names every server under the domain: alias records to the ALB, and a certificate ACM validates by DNS'
        : 'creates no certificate and no DNS record without a domain',
      () => {
        const records = run.ofType('aws:route53/record:Record');
        const certificates = run.ofType('aws:acm/certificate:Certificate');
        if (!want.hosts) {
          expect([...records, ...certificates]).toEqual([]);
          return;
        }
        expect(certificates.map((certificate) => certificate.inputs)).toEqual([
          expect.objectContaining({
            domainName: want.domain,
            subjectAlternativeNames: [`*.${want.domain}`],
            validationMethod: 'DNS',
          }),
        ]);
        const validation = run.one('aws:route53/record:Record', 'mcp-fleet-cert-validation').inputs;
        expect(validation).toMatchObject({
          zoneId: 'Z0MOCKZONE',
          type: 'CNAME',
          name: '_0123.mcp.example.com.',
        });
        for (const [server, host] of Object.entries(want.hosts)) {
          expect(run.one('aws:route53/record:Record', `${server}-dns`).inputs).toEqual(
            expect.objectContaining({
              zoneId: 'Z0MOCKZONE',
              name: host,
              type: 'A',
              aliases: [
                {
                  name: 'mcp-fleet-alb.eu-west-1.elb.amazonaws.com',
                  zoneId: 'Z32O12XQLNTSW2',
                  evaluateTargetHealth: true,
                },
              ],
            }),
          );
        }
      },
    );

    it('lets the collector write to the metrics log group only, which keeps the stack retention', () => {
      const logGroup = run.one(T.logGroup, 'mcp-fleet-metrics').inputs;
      expect(logGroup).toMatchObject({
        name: `/mcp-fleet/${stack}/metrics`,
        retentionInDays: want.logRetentionDays,
      });
      const policy = JSON.parse(run.one(T.rolePolicy, 'app-ship-metrics').inputs.policy);
      expect(policy.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
          Resource: [
            expect.stringContaining('mcp-fleet-metrics'),
            expect.stringMatching(/mcp-fleet-metrics:\*$/),
          ],
        },
      ]);
      expect(run.one(T.rolePolicy, 'app-ship-metrics').inputs.role).toBe('app-task-id');
    });
  });
}
