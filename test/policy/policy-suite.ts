import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, RESOURCE_RULES, STACK_RULES, type Violation } from '../../policy/policies.js';
import type { StackInput } from '../../policy/rules/resource.js';
import type { ProgramRun, Stack } from '../infra/harness.js';
import { capturedResources, editContainer, emptied, find } from './captured.js';

const T = {
  redis: 'aws:elasticache/replicationGroup:ReplicationGroup',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  task: 'aws:ecs/taskDefinition:TaskDefinition',
  alb: 'aws:lb/loadBalancer:LoadBalancer',
  scalingTarget: 'aws:appautoscaling/target:Target',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  deployment: 'kubernetes:apps/v1:Deployment',
  hpa: 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler',
  ingress: 'kubernetes:networking.k8s.io/v1:Ingress',
} as const;

type Platform = 'ecs' | 'eks';

/** Only the policy name and the message: what a user reads in the preview output. */
const summary = (violations: Violation[]) => violations.map(({ policy, message }) => ({ policy, message }));

/**
 * The policy pack against the resources one stack really registers on one platform: the shipped
 * config passes every policy, and each deliberately broken variant fails with exactly the expected
 * violation and nothing else.
 */
export function describePolicyPack(stack: Stack, platform: Platform, program: () => ProgramRun): void {
  const production = stack === 'production';
  describe(`policy pack on ${platform} ${stack}`, () => {
    let fresh: () => StackInput[];
    beforeAll(() => {
      const run = program();
      fresh = () => capturedResources(run, stack);
    });
    /** Breaks a fresh copy of the captured resources, then evaluates the pack over it. */
    const brokenBy = (mutate: (resources: StackInput[]) => void) => {
      const resources = fresh();
      mutate(resources);
      return summary(evaluate(resources));
    };

    it('passes every policy with the shipped stack config', () => {
      const resources = fresh();
      expect(summary(evaluate(resources))).toEqual([]);
      // Every resource policy met at least one resource it governs here, so passing is not vacuous.
      const governed = new Set(
        RESOURCE_RULES.filter((rule) =>
          resources.some((resource) => {
            const broken = structuredClone(resource);
            return rule.check(emptied(broken), { productionStacks: [stack], minimum: 99 }).length > 0;
          }),
        ).map((rule) => rule.name),
      );
      const expected = RESOURCE_RULES.map((rule) => rule.name).filter(
        (name) =>
          !(platform === 'ecs' && name === 'ingress-read-timeout-for-sse') &&
          !(platform === 'eks' && name === 'alb-idle-timeout-for-sse'),
      );
      expect([...governed].sort()).toEqual(expected.sort());
      expect(STACK_RULES.map((rule) => rule.name)).toEqual(['redis-not-open-to-world']);
    });

    it('fails Redis without TLS or encryption at rest', () => {
      expect(
        brokenBy((resources) => {
          find(resources, T.redis, 'mcp-fleet-redis-group').props.transitEncryptionEnabled = false;
        }),
      ).toEqual([
        {
          policy: 'redis-encrypted',
          message:
            'ElastiCache replication group mcp-fleet-redis-group: transitEncryptionEnabled must be true, or sessions and the AUTH token cross the VPC in clear text',
        },
      ]);
      expect(
        brokenBy((resources) => {
          delete find(resources, T.redis, 'mcp-fleet-redis-group').props.atRestEncryptionEnabled;
        }),
      ).toEqual([
        {
          policy: 'redis-encrypted',
          message:
            'ElastiCache replication group mcp-fleet-redis-group: atRestEncryptionEnabled must be true, or snapshots and swap hold session data unencrypted',
        },
      ]);
    });

    it('fails a Redis security group open to the world, by rule or inline', () => {
      const redisRule = platform === 'ecs' ? 'mcp-fleet-redis-from-app' : 'mcp-fleet-redis-from-eks';
      expect(
        brokenBy((resources) => {
          const rule = find(resources, T.ingressRule, redisRule).props;
          delete rule.referencedSecurityGroupId;
          rule.cidrIpv4 = '0.0.0.0/0';
        }),
      ).toEqual([
        {
          policy: 'redis-not-open-to-world',
          message: `ElastiCache replication group mcp-fleet-redis-group: rule ${redisRule} admits the whole internet (0.0.0.0/0 or ::/0); admit only the servers' security groups`,
        },
      ]);
      expect(
        brokenBy((resources) => {
          find(resources, T.securityGroup, 'mcp-fleet-redis-sg').props.ingress = [
            { protocol: 'tcp', fromPort: 6379, toPort: 6379, ipv6CidrBlocks: ['::/0'] },
          ];
        }),
      ).toEqual([
        {
          policy: 'redis-not-open-to-world',
          message:
            "ElastiCache replication group mcp-fleet-redis-group: security group mcp-fleet-redis-sg (inline ingress) admits the whole internet (0.0.0.0/0 or ::/0); admit only the servers' security groups",
        },
      ]);
    });

    it('fails a container that runs as root', () => {
      if (platform === 'ecs') {
        expect(
          brokenBy((resources) => editContainer(resources, (c) => Object.assign(c, { user: '0' }))),
        ).toEqual([
          {
            policy: 'containers-non-root',
            message:
              'ECS task definition app-task: container "app" runs as root (user "0"); set a non-root UID',
          },
        ]);
        expect(brokenBy((resources) => editContainer(resources, (c) => delete c.user))).toEqual([
          {
            policy: 'containers-non-root',
            message:
              'ECS task definition app-task: container "app" sets no user, so it runs as the image\'s user (root unless the image says otherwise); set user to a non-root UID',
          },
        ]);
      } else {
        expect(
          brokenBy((resources) => {
            const pod = find(resources, T.deployment, 'app-deployment').props.spec.template.spec;
            delete pod.securityContext.runAsNonRoot;
            delete pod.containers[0].securityContext.runAsNonRoot;
          }),
        ).toEqual([
          {
            policy: 'containers-non-root',
            message:
              'Deployment app-deployment: container "app" may run as root: set securityContext.runAsNonRoot: true on the pod or the container',
          },
        ]);
        expect(
          brokenBy((resources) => {
            find(
              resources,
              T.deployment,
              'app-deployment',
            ).props.spec.template.spec.containers[0].securityContext.runAsUser = 0;
          }),
        ).toEqual([
          {
            policy: 'containers-non-root',
            message:
              'Deployment app-deployment: container "app" runs as root (runAsUser 0); set a non-root UID',
          },
        ]);
      }
    });

    it('fails a container without limits', () => {
      if (platform === 'ecs') {
        expect(
          brokenBy((resources) => {
            const task = find(resources, T.task, 'app-task').props;
            delete task.cpu;
            delete task.memory;
          }),
        ).toEqual([
          {
            policy: 'containers-have-limits',
            message:
              'ECS task definition app-task: set task-level cpu and memory (Fargate requires both), or cpu and a memory limit on every container; unbounded: "app", "metrics-collector"',
          },
        ]);
      } else {
        expect(
          brokenBy((resources) => {
            delete find(resources, T.deployment, 'app-deployment').props.spec.template.spec.containers[0]
              .resources.limits;
          }),
        ).toEqual([
          {
            policy: 'containers-have-limits',
            message:
              'Deployment app-deployment: container "app" has no resources.limits.cpu or memory; set both so one pod cannot starve its node',
          },
        ]);
      }
    });

    it(`fails the ${platform === 'ecs' ? 'ALB idle timeout' : 'ingress read timeout'} at 60 s`, () => {
      if (platform === 'ecs') {
        expect(
          brokenBy((resources) => {
            find(resources, T.alb, 'mcp-fleet-alb').props.idleTimeout = 60;
          }),
        ).toEqual([
          {
            policy: 'alb-idle-timeout-for-sse',
            message: 'load balancer mcp-fleet-alb: idleTimeout is 60 s; SSE streams need at least 3600 s',
          },
        ]);
        return;
      }
      expect(
        brokenBy((resources) => {
          find(resources, T.ingress, 'app-ingress').props.metadata.annotations[
            'nginx.org/proxy-read-timeout'
          ] = '60s';
        }),
      ).toEqual([
        {
          policy: 'ingress-read-timeout-for-sse',
          message:
            'Ingress app-ingress serves SSE but nginx.org/proxy-read-timeout is "60s"; streams idle longer than that are cut: set at least 3600s',
        },
      ]);
    });

    it('fails a secret delivered as a plaintext env value', () => {
      const expected = (name: string, what: string) => ({
        policy: 'no-plaintext-secrets',
        message: `${platform === 'ecs' ? 'ECS task definition app-task' : 'Deployment app-deployment'}: container "app": environment variable ${name} ${what}; deliver it from a secret instead`,
      });
      if (platform === 'ecs') {
        expect(
          brokenBy((resources) =>
            editContainer(resources, (c) => {
              c.environment.push({ name: 'AUTH_API_KEYS', value: 'key-0123456789abcdef' });
              c.environment.push({ name: 'REDIS_URL', value: 'rediss://:token@redis.internal:6379' });
            }),
          ),
        ).toEqual([
          expected('AUTH_API_KEYS', 'holds a credential in plaintext'),
          expected('REDIS_URL', 'is a URL with a password in plaintext'),
        ]);
      } else {
        expect(
          brokenBy((resources) => {
            const env = find(resources, T.deployment, 'app-deployment').props.spec.template.spec.containers[0]
              .env;
            const keys = env.find((variable: { name: string }) => variable.name === 'AUTH_API_KEYS');
            delete keys.valueFrom;
            keys.value = 'key-0123456789abcdef';
          }),
        ).toEqual([expected('AUTH_API_KEYS', 'holds a credential in plaintext')]);
      }
    });

    it(`${production ? 'fails' : 'allows (not production)'} an autoscaling minimum of 1`, () => {
      const violations = brokenBy((resources) => {
        if (platform === 'ecs') find(resources, T.scalingTarget, 'app-scaling').props.minCapacity = 1;
        else find(resources, T.hpa, 'app-hpa').props.spec.minReplicas = 1;
      });
      const what =
        platform === 'ecs'
          ? 'ECS scaling target app-scaling has minCapacity 1'
          : 'HorizontalPodAutoscaler app-hpa has minReplicas 1';
      expect(violations).toEqual(
        production
          ? [
              {
                policy: 'production-min-replicas',
                message: `production stack "production": ${what}; run at least 2 so a deploy, a drain or a crash leaves a replica serving`,
              },
            ]
          : [],
      );
    });

    it('fails a log group without retention', () => {
      const logGroup = platform === 'ecs' ? 'app-logs' : 'mcp-fleet-control-plane';
      expect(
        brokenBy((resources) => {
          delete find(resources, T.logGroup, logGroup).props.retentionInDays;
        }),
      ).toEqual([
        {
          policy: 'log-retention-set',
          message: `CloudWatch log group ${logGroup}: retentionInDays is not set, so logs are kept and billed forever; set a retention period`,
        },
      ]);
    });
  });
}
