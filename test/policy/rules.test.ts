import { describe, expect, it } from 'vitest';
import { containersNonRoot } from '../../policy/rules/containers.js';
import { noPlaintextSecrets } from '../../policy/rules/plaintext-secrets.js';
import { redisEncryption, redisNotOpenToWorld } from '../../policy/rules/redis.js';
import { productionMinReplicas } from '../../policy/rules/replicas.js';
import { type PolicyInput, stackOf } from '../../policy/rules/resource.js';
import { ingressReadTimeout, nginxSeconds } from '../../policy/rules/timeouts.js';

/** The rules' edge cases, on hand-written resources: what the shipped stacks never exercise. */

const resource = (
  type: string,
  name: string,
  props: Record<string, unknown>,
  stack = 'staging',
): PolicyInput => ({
  type,
  name,
  urn: `urn:pulumi:${stack}::mcp-fleet::${type}::${name}`,
  props,
});

describe('policy rules', () => {
  it('reads the stack from a URN, and refuses anything else', () => {
    expect(
      stackOf(
        'urn:pulumi:prod-eu::mcp-fleet::mcp-fleet:ecs:EcsPlatform$aws:lb/loadBalancer:LoadBalancer::alb',
      ),
    ).toBe('prod-eu');
    expect(() => stackOf('alb')).toThrow('not a Pulumi URN: alb');
  });

  it('reads nginx durations the way nginx does', () => {
    expect(['3600', '3600s', '60m', '1h', '1h30m', '2d'].map(nginxSeconds)).toEqual([
      3600, 3600, 3600, 3600, 5400, 172800,
    ]);
    expect(nginxSeconds('an hour')).toBeUndefined();
  });

  it('checks the community controller too, and asks for a timeout when none is set', () => {
    const ingress = (annotations: Record<string, string>) =>
      ingressReadTimeout(
        resource('kubernetes:networking.k8s.io/v1:Ingress', 'mcp', { metadata: { annotations } }),
      );
    const bufferingOff = { 'nginx.ingress.kubernetes.io/proxy-buffering': 'off' };
    expect(ingress({ ...bufferingOff, 'nginx.ingress.kubernetes.io/proxy-read-timeout': '60' })).toEqual([
      'Ingress mcp serves SSE but nginx.ingress.kubernetes.io/proxy-read-timeout is "60"; streams idle longer than that are cut: set at least 3600s',
    ]);
    expect(ingress({ 'mcp-fleet/sse': 'true' })[0]).toMatch(
      /^Ingress mcp serves SSE but sets no proxy-read-timeout annotation, so nginx cuts idle streams after 60 s/,
    );
    expect(ingress({ ...bufferingOff, 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600' })).toEqual(
      [],
    );
    // An Ingress that does not stream is none of this policy's business.
    expect(ingress({})).toEqual([]);
  });

  it('refuses TLS that still accepts clear-text clients', () => {
    const group = resource('aws:elasticache/replicationGroup:ReplicationGroup', 'redis', {
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'preferred',
      atRestEncryptionEnabled: 'true',
    });
    expect(redisEncryption(group)).toEqual([
      'ElastiCache replication group redis: transitEncryptionMode "preferred" still accepts clear-text clients; use "required"',
    ]);
  });

  it('flags a replication group whose security groups it cannot see', () => {
    const group = {
      ...resource('aws:elasticache/replicationGroup:ReplicationGroup', 'redis', {}),
      id: 'redis-id',
    };
    expect(redisNotOpenToWorld([group]).map((v) => v.message)).toEqual([
      'ElastiCache replication group redis: has no security group of this stack, so its reachability cannot be checked; give it one that admits only the servers',
    ]);
  });

  it('treats any configured stack as production, and an HPA without minReplicas as 1', () => {
    const hpa = resource('kubernetes:autoscaling/v2:HorizontalPodAutoscaler', 'app', { spec: {} }, 'prod-eu');
    expect(productionMinReplicas(hpa)).toEqual([]);
    expect(productionMinReplicas(hpa, { productionStacks: ['prod-eu'], minimum: 2 })).toEqual([
      'production stack "prod-eu": HorizontalPodAutoscaler app has minReplicas 1; run at least 2 so a deploy, a drain or a crash leaves a replica serving',
    ]);
  });

  it('reports a task definition whose containers are not JSON instead of passing it', () => {
    const task = resource('aws:ecs/taskDefinition:TaskDefinition', 'task', { containerDefinitions: '[{' });
    expect(containersNonRoot(task)[0]).toMatch(
      /^ECS task definition task: containerDefinitions is not valid JSON/,
    );
  });

  it('looks into CronJob pod templates and init containers', () => {
    const cron = resource('kubernetes:batch/v1:CronJob', 'sweep', {
      spec: {
        jobTemplate: {
          spec: {
            template: {
              spec: {
                securityContext: { runAsNonRoot: true },
                initContainers: [
                  {
                    name: 'init',
                    securityContext: { runAsUser: 0 },
                    env: [{ name: 'DB_PASSWORD', value: 'pw' }],
                  },
                ],
                containers: [{ name: 'job', env: [{ name: 'TOKEN_TTL', value: '60' }] }],
              },
            },
          },
        },
      },
    });
    expect(containersNonRoot(cron)).toEqual([
      'CronJob sweep: container "init" runs as root (runAsUser 0); set a non-root UID',
    ]);
    expect(noPlaintextSecrets(cron)).toEqual([
      'CronJob sweep: container "init": environment variable DB_PASSWORD holds a credential in plaintext; deliver it from a secret instead',
    ]);
  });
});
