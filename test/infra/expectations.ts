import { expect } from 'vitest';
import {
  FAKE_SECRET_PREFIX,
  type ProgramRun,
  type Recorded,
  readStackConfig,
  type Stack,
} from './harness.js';
import { parseUrn } from './outcome/graph.js';

/** The one value a user must set before production's first `up`; staging on ECS deploys as shipped. */
export const PRODUCTION_DOMAIN = 'mcp.example.com';
/** EKS with the F5 controller routes by host only, so staging on EKS needs a domain too. */
export const STAGING_DOMAIN = 'staging.mcp.example.com';

/** The domain each stack runs under in the tests: production always, staging on EKS. */
export function domainOf(stack: Stack, platform: 'ecs' | 'eks'): string | undefined {
  if (stack === 'production') return PRODUCTION_DOMAIN;
  return platform === 'eks' ? STAGING_DOMAIN : undefined;
}
/** What a user sets for `platform: eks`: who may reach the API endpoint, who administers the cluster. */
export const EKS_ACCESS = {
  publicAccessCidrs: ['198.51.100.0/24'],
  adminRoleArns: ['arn:aws:iam::111122223333:role/platform-admin'],
  ciRoleArns: ['arn:aws:iam::111122223333:role/github-actions-deploy'],
  previewRoleArns: ['arn:aws:iam::111122223333:role/github-actions-preview'],
};

/** The stack file plus what its README tells a user to set for this platform, as `runProgram` overrides. */
export function userSettings(stack: Stack, platform: 'ecs' | 'eks'): Record<string, unknown> {
  const eks = readStackConfig(stack).eks as Record<string, unknown>;
  const domain = domainOf(stack, platform);
  return {
    platform,
    ...(domain ? { domain } : {}),
    ...(platform === 'eks'
      ? {
          eks: {
            ...eks,
            endpoint: { publicAccess: true, publicAccessCidrs: EKS_ACCESS.publicAccessCidrs },
            adminRoleArns: EKS_ACCESS.adminRoleArns,
            ciRoleArns: EKS_ACCESS.ciRoleArns,
            previewRoleArns: EKS_ACCESS.previewRoleArns,
          },
        }
      : {}),
  };
}

/** The mocked load balancer names (test/infra/harness.ts): where a stack without a domain serves. */
export const ALB_DNS = 'mcp-fleet-alb.eu-west-1.elb.amazonaws.com';
export const NLB_DNS = 'mcp-fleet-ingress-service.elb.amazonaws.com';

/** What each stack file promises, written out independently of the program so a regression shows. */
export function expectedFor(stack: Stack, platform: 'ecs' | 'eks' = 'ecs') {
  const production = stack === 'production';
  const lb = platform === 'ecs' ? ALB_DNS : NLB_DNS;
  const domain = domainOf(stack, platform);
  const scheme = domain ? 'https' : 'http';
  // Only the app has a host: the third-party server is reached through the app's gateway.
  const hosts = domain ? { app: `app.${domain}` } : undefined;
  return {
    deletionProtection: production,
    domain,
    /** With a domain the stack serves HTTPS with the ACM certificate the program requests for it. */
    https: domain !== undefined,
    /** server → public host; none without a domain (it serves on the load balancer's name). */
    hosts,
    servers: ['app', 'everything'],
    /** server → the public MCP URL the stack exports. */
    urls: {
      app: `${scheme}://${hosts?.app ?? lb}/mcp`,
      everything: `${scheme}://${hosts?.app ?? lb}/servers/everything/mcp`,
    },
    appScaling: production ? { min: 3, max: 12, cpuTarget: 55 } : { min: 2, max: 4, cpuTarget: 60 },
    everythingReplicas: 2,
    /** Production autoscales the third-party server: it sits behind the pinning gateway. */
    everythingScaling: production ? { min: 2, max: 4, cpuTarget: 60 } : undefined,
    appResources: production ? { cpu: 1024, memory: 2048 } : { cpu: 512, memory: 1024 },
    logRetentionDays: production ? 365 : 14,
    /** The app's plain security settings: API-key auth, its public host, one proxy hop in front. */
    appSecurityEnv: {
      AUTH_MODE: 'apikey',
      ALLOWED_HOSTS: hosts?.app ?? lb,
      PUBLIC_URL: `${scheme}://${hosts?.app ?? lb}`,
      TRUST_PROXY: '1',
    },
    containerInsights: production ? 'enhanced' : 'enabled',
    azCount: production ? 3 : 2,
    availabilityZones: production ? ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] : ['eu-west-1a', 'eu-west-1b'],
    natGateways: production ? 3 : 1,
    redis: production
      ? {
          multiAzEnabled: true,
          automaticFailoverEnabled: true,
          numCacheClusters: 3,
          nodeType: 'cache.r7g.large',
        }
      : {
          multiAzEnabled: false,
          automaticFailoverEnabled: false,
          numCacheClusters: 1,
          nodeType: 'cache.t4g.micro',
        },
  };
}

/**
 * `type::name` of every resource the engine creates before `resource`: its direct dependencies as the
 * harness recorded them (Recorded.dependencies, URNs). The outcome model's ResourceGraph.prerequisites
 * follows them transitively.
 */
export function createdAfter(resource: Recorded): string[] {
  return resource.dependencies.map((urn) => {
    const { type, name } = parseUrn(urn);
    return `${type}::${name}`;
  });
}

/** Where a secret value may legitimately appear: the secret stores themselves and credential fields. */
const ALLOWED_SECRET_PLACES: Record<string, RegExp> = {
  'aws:secretsmanager/secretVersion:SecretVersion': /^secretString$/,
  'aws:elasticache/replicationGroup:ReplicationGroup': /^authToken$/,
  'docker-build:index:Image': /^registries\.\d+\.password$/,
  'kubernetes:core/v1:Secret': /^stringData\./,
};

/** The fake values of every secret the shipped stacks deliver, all generated: the API keys, the state key, the Redis token. */
export const SHIPPED_SECRETS = [
  `${FAKE_SECRET_PREFIX}mcp-fleet-app-api-key`,
  `${FAKE_SECRET_PREFIX}mcp-fleet-state-key`,
  `${FAKE_SECRET_PREFIX}mcp-fleet-redis-auth-token`,
];

/**
 * Walks every input of every resource: a fake secret anywhere else is a plaintext leak, and even in
 * an allowed place it must be marked secret (or it lands unencrypted in the Pulumi state).
 * `expected` are secret values the walk must have met, so a secret that silently stopped being
 * delivered (or a walk that sees nothing) fails instead of passing vacuously.
 */
export function assertSecretsOnlyWhereAllowed(run: ProgramRun, expected: string[] = SHIPPED_SECRETS): void {
  const leaks: string[] = [];
  const seen = new Set<string>();
  let found = 0;
  const visit = (type: string, name: string, path: string, value: unknown) => {
    if (typeof value === 'string') {
      if (!value.includes(FAKE_SECRET_PREFIX)) return;
      found++;
      for (const secret of expected) if (value.includes(secret)) seen.add(secret);
      if (!ALLOWED_SECRET_PLACES[type]?.test(path)) leaks.push(`${type} ${name} ${path}`);
      else if (!secretPaths.some((secretPath) => path === secretPath || path.startsWith(`${secretPath}.`))) {
        leaks.push(`${type} ${name} ${path} (not marked secret)`);
      }
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries())
        visit(type, name, path ? `${path}.${index}` : `${index}`, item);
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(type, name, path ? `${path}.${key}` : key, item);
    }
  };
  let secretPaths: string[] = [];
  for (const resource of run.resources) {
    secretPaths = resource.secretPaths;
    visit(resource.type, resource.name, '', resource.inputs);
  }
  expect(leaks).toEqual([]);
  // The walk must have seen the secrets, or it proves nothing.
  expect(found).toBeGreaterThan(0);
  expect([...seen].sort()).toEqual([...expected].sort());
}
