import { expect } from 'vitest';
import { FAKE_SECRET_PREFIX, type ProgramRun, type Stack } from './harness.js';

/** What each stack file promises, written out independently of the program so a regression shows. */
export function expectedFor(stack: Stack) {
  const production = stack === 'production';
  return {
    deletionProtection: production,
    certificateArn: `arn:aws:acm:eu-west-1:111122223333:certificate/00000000-0000-0000-0000-00000000000${production ? 2 : 1}`,
    hosts: production
      ? { app: 'mcp.example.com', everything: 'everything.example.com' }
      : { app: 'mcp.staging.example.com', everything: 'everything.staging.example.com' },
    appScaling: production ? { min: 3, max: 12, cpuTarget: 55 } : { min: 2, max: 4, cpuTarget: 60 },
    everythingReplicas: production ? 2 : 1,
    appResources: production ? { cpu: 1024, memory: 2048 } : { cpu: 512, memory: 1024 },
    logRetentionDays: production ? 365 : 14,
    /** The app's plain security settings: API-key auth, its public host, one proxy hop in front. */
    appSecurityEnv: {
      AUTH_MODE: 'apikey',
      ALLOWED_HOSTS: production ? 'mcp.example.com' : 'mcp.staging.example.com',
      PUBLIC_URL: production ? 'https://mcp.example.com' : 'https://mcp.staging.example.com',
      TRUST_PROXY: '1',
    },
    containerInsights: production ? 'enhanced' : 'enabled',
    azCount: production ? 3 : 2,
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

/** Where a secret value may legitimately appear: the secret stores themselves and credential fields. */
const ALLOWED_SECRET_PLACES: Record<string, RegExp> = {
  'aws:secretsmanager/secretVersion:SecretVersion': /^secretString$/,
  'aws:elasticache/replicationGroup:ReplicationGroup': /^authToken$/,
  'docker-build:index:Image': /^registries\.\d+\.password$/,
  'kubernetes:core/v1:Secret': /^stringData\./,
};

/** The fake values of every secret the shipped stacks deliver: the API keys, the state key, the Redis token. */
export const SHIPPED_SECRETS = [
  `${FAKE_SECRET_PREFIX}AUTH_API_KEYS`,
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
