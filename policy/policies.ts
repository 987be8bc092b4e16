import type { Policies, PolicyResource, ResourceValidationArgs } from '@pulumi/policy';
import { containersHaveLimits, containersNonRoot } from './rules/containers.js';
import { logRetentionSet } from './rules/log-retention.js';
import { noPlaintextSecrets } from './rules/plaintext-secrets.js';
import { redisEncryption, redisNotOpenToWorld } from './rules/redis.js';
import { DEFAULT_REPLICA_CONFIG, productionMinReplicas, type ReplicaConfig } from './rules/replicas.js';
import type { PolicyInput, StackInput } from './rules/resource.js';
import { albIdleTimeout, ingressReadTimeout } from './rules/timeouts.js';

/**
 * The production checklist as code: each entry names a rule (a plain function in ./rules) and says
 * why it exists. `policies()` wraps them for @pulumi/policy; `evaluate()` runs the very same list
 * without the engine, which is how the tests feed it the resources of the mocked program.
 */

interface ResourceRule {
  name: string;
  description: string;
  check: (resource: PolicyInput, config: ReplicaConfig) => string[];
}

export const RESOURCE_RULES: readonly ResourceRule[] = [
  {
    name: 'redis-encrypted',
    description: 'ElastiCache encrypts in transit (TLS required) and at rest.',
    check: redisEncryption,
  },
  {
    name: 'containers-non-root',
    description: 'Every container (ECS task definitions, Kubernetes workloads) runs as a non-root user.',
    check: containersNonRoot,
  },
  {
    name: 'containers-have-limits',
    description: 'Every container has CPU and memory limits (ECS task sizes, Kubernetes resources.limits).',
    check: containersHaveLimits,
  },
  {
    name: 'alb-idle-timeout-for-sse',
    description:
      'Application load balancers keep idle connections for at least 3600 s, so SSE streams survive.',
    check: albIdleTimeout,
  },
  {
    name: 'ingress-read-timeout-for-sse',
    description: 'An Ingress carrying SSE has an nginx proxy-read-timeout of at least 3600 s.',
    check: ingressReadTimeout,
  },
  {
    name: 'no-plaintext-secrets',
    description:
      'No credential is a plaintext environment value; secrets come from Secrets Manager / Kubernetes Secrets.',
    check: noPlaintextSecrets,
  },
  {
    name: 'production-min-replicas',
    description: 'In production stacks, autoscaling floors and fixed replica counts are at least 2.',
    check: productionMinReplicas,
  },
  {
    name: 'log-retention-set',
    description: 'Every CloudWatch log group has a retention period.',
    check: logRetentionSet,
  },
];

export const STACK_RULES = [
  {
    name: 'redis-not-open-to-world',
    description: 'No security group of an ElastiCache replication group admits 0.0.0.0/0 or ::/0.',
    check: redisNotOpenToWorld,
  },
] as const;

/** Only `production-min-replicas` is configurable: which stacks are production, and the floor. */
const REPLICA_CONFIG_SCHEMA = {
  properties: {
    productionStacks: {
      type: 'array' as const,
      items: { type: 'string' as const },
      default: DEFAULT_REPLICA_CONFIG.productionStacks,
    },
    minimum: { type: 'integer' as const, minimum: 1, default: DEFAULT_REPLICA_CONFIG.minimum },
  },
};

function replicaConfig(args: Pick<ResourceValidationArgs, 'getConfig'>): ReplicaConfig {
  const config = args.getConfig<Partial<ReplicaConfig>>();
  return {
    productionStacks: config.productionStacks ?? DEFAULT_REPLICA_CONFIG.productionStacks,
    minimum: config.minimum ?? DEFAULT_REPLICA_CONFIG.minimum,
  };
}

/** The checklist as @pulumi/policy policies, every one mandatory. */
export function policies(): Policies {
  return [
    ...RESOURCE_RULES.map((rule) => ({
      name: rule.name,
      description: rule.description,
      enforcementLevel: 'mandatory' as const,
      ...(rule.name === 'production-min-replicas' ? { configSchema: REPLICA_CONFIG_SCHEMA } : {}),
      validateResource: (args: ResourceValidationArgs, reportViolation: (message: string) => void) => {
        const input = { type: args.type, name: args.name, urn: args.urn, props: args.props };
        for (const message of rule.check(input, replicaConfig(args))) reportViolation(message);
      },
    })),
    ...STACK_RULES.map((rule) => ({
      name: rule.name,
      description: rule.description,
      enforcementLevel: 'mandatory' as const,
      validateStack: (
        args: { resources: PolicyResource[] },
        reportViolation: (message: string, urn?: string) => void,
      ) => {
        for (const violation of rule.check(args.resources.map(toStackInput))) {
          reportViolation(violation.message, violation.urn);
        }
      },
    })),
  ];
}

function toStackInput(resource: PolicyResource): StackInput {
  return {
    type: resource.type,
    name: resource.name,
    urn: resource.urn,
    props: resource.props,
    propertyDependencies: Object.fromEntries(
      Object.entries(resource.propertyDependencies).map(([property, from]) => [
        property,
        from.map((r) => r.urn),
      ]),
    ),
  };
}

export interface Violation {
  policy: string;
  urn: string;
  message: string;
}

/** Runs every rule over a set of resources, exactly as the pack does, without the engine. */
export function evaluate(
  resources: StackInput[],
  config: ReplicaConfig = DEFAULT_REPLICA_CONFIG,
): Violation[] {
  const violations: Violation[] = [];
  for (const resource of resources) {
    for (const rule of RESOURCE_RULES) {
      for (const message of rule.check(resource, config))
        violations.push({ policy: rule.name, urn: resource.urn, message });
    }
  }
  for (const rule of STACK_RULES) {
    for (const violation of rule.check(resources)) violations.push({ policy: rule.name, ...violation });
  }
  return violations;
}
