import { beforeAll, describe, expect, it } from 'vitest';
import { KEEP_IMAGES, LIFECYCLE_POLICY } from '../../infra/foundation/registry.js';
import { expectedFor } from './expectations.js';
import { FAKE_SECRET_PREFIX, type ProgramRun, promiseOf, type Stack } from './harness.js';

const T = {
  subnet: 'aws:ec2/subnet:Subnet',
  nat: 'aws:ec2/natGateway:NatGateway',
  routeTable: 'aws:ec2/routeTable:RouteTable',
  repository: 'aws:ecr/repository:Repository',
  lifecycle: 'aws:ecr/lifecyclePolicy:LifecyclePolicy',
  image: 'docker-build:index:Image',
  redis: 'aws:elasticache/replicationGroup:ReplicationGroup',
  secretVersion: 'aws:secretsmanager/secretVersion:SecretVersion',
  password: 'random:index/randomPassword:RandomPassword',
  parameterGroup: 'aws:elasticache/parameterGroup:ParameterGroup',
} as const;

/** The shared AWS foundation both platforms build on. */
export function describeFoundation(stack: Stack, platform: 'ecs' | 'eks', program: () => ProgramRun): void {
  const want = expectedFor(stack, platform);
  describe(`shared foundation on ${stack}`, () => {
    let run: ProgramRun;
    beforeAll(() => {
      run = program();
    });

    it('spreads public and private subnets across the AZs pinned in the stack', () => {
      const subnets = run.ofType(T.subnet);
      const tiers = (tier: string) => subnets.filter((subnet) => subnet.inputs.tags.tier === tier);
      expect(tiers('public')).toHaveLength(want.azCount);
      for (const tier of ['public', 'private']) {
        expect(tiers(tier).map((subnet) => subnet.inputs.availabilityZone)).toEqual(want.availabilityZones);
      }
      expect(subnets.every((subnet) => subnet.inputs.mapPublicIpOnLaunch !== true)).toBe(true);
    });

    it('follows the NAT policy: one gateway on staging, one per AZ in production', () => {
      expect(run.ofType(T.nat)).toHaveLength(want.natGateways);
      const privateRoutes = run.ofType(T.routeTable).filter((table) => table.name.includes('-private-'));
      const natTargets = new Set(privateRoutes.map((table) => table.inputs.routes[0]?.natGatewayId));
      expect(natTargets.size).toBe(want.natGateways);
    });

    it('scans images on push, and keeps the newest images tagged, expiring only untagged ones early', () => {
      expect(run.one(T.repository, 'mcp-fleet-repo').inputs.imageScanningConfiguration).toEqual({
        scanOnPush: true,
      });
      const policy = JSON.parse(run.one(T.lifecycle, 'mcp-fleet-lifecycle').inputs.policy);
      expect(policy).toEqual(LIFECYCLE_POLICY);
      expect(policy.rules.map((rule: { selection: unknown }) => rule.selection)).toEqual([
        { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
        { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: KEEP_IMAGES },
      ]);
    });

    it('builds the app image from app/Dockerfile with the repo root as context, and pushes it', () => {
      const image = run.one(T.image, 'mcp-fleet-app').inputs;
      expect(image.context).toEqual({ location: '.' });
      expect(image.dockerfile).toEqual({ location: 'app/Dockerfile' });
      expect(image.push).toBe(true);
      expect(image.buildOnPreview).toBe(true);
      expect(image.platforms).toEqual(['linux/amd64']);
      // The stack tag moves with every deploy; a commit tag (when the tree is clean) stays.
      const tags = image.tags as string[];
      expect(tags.at(-1)).toBe(`111122223333.dkr.ecr.eu-west-1.amazonaws.com/mcp-fleet-repo:${stack}`);
      for (const tag of tags.slice(0, -1)) expect(tag).toMatch(/:git-[0-9a-f]{12}$/);
    });

    it('encrypts Redis in transit and at rest, behind an AUTH token', () => {
      const redis = run.one(T.redis, 'mcp-fleet-redis-group').inputs;
      expect(redis.transitEncryptionEnabled).toBe(true);
      expect(redis.atRestEncryptionEnabled).toBe(true);
      expect(redis.authToken).toBe(`${FAKE_SECRET_PREFIX}mcp-fleet-redis-auth-token`);
      expect(redis.engine).toBe('valkey');
      expect(redis.port).toBe(6379);
    });

    it(`runs Redis ${stack === 'production' ? 'multi-AZ with automatic failover' : 'as a single node'}`, () => {
      expect(run.one(T.redis, 'mcp-fleet-redis-group').inputs).toMatchObject(want.redis);
    });

    it('never evicts session records: the parameter group sets maxmemory-policy noeviction', () => {
      const params = run.one(T.parameterGroup, 'mcp-fleet-redis-params').inputs;
      expect(params.family).toBe('valkey8');
      expect(params.parameters).toEqual([{ name: 'maxmemory-policy', value: 'noeviction' }]);
      expect(run.one(T.redis, 'mcp-fleet-redis-group').inputs.parameterGroupName).toBe(
        'mcp-fleet-redis-params',
      );
    });

    it(`${stack === 'production' ? 'keeps a final snapshot under a name no earlier destroy used' : 'takes no final snapshot'}`, () => {
      const finalSnapshot = run.one(T.redis, 'mcp-fleet-redis-group').inputs.finalSnapshotIdentifier;
      if (stack !== 'production') {
        expect(finalSnapshot).toBeUndefined();
        return;
      }
      expect(finalSnapshot).toMatch(/^mcp-fleet-redis-final-production-[0-9a-f]{8}$/);
    });

    it('stores REDIS_URL (rediss:// with the token) and the AUTH token together in Secrets Manager', () => {
      const stored = JSON.parse(run.one(T.secretVersion, 'mcp-fleet-redis-secret').inputs.secretString);
      expect(stored).toEqual({
        REDIS_URL: `rediss://:${FAKE_SECRET_PREFIX}mcp-fleet-redis-auth-token@master.mcp-fleet-redis-group.cache.amazonaws.com:6379`,
        AUTH_TOKEN: `${FAKE_SECRET_PREFIX}mcp-fleet-redis-auth-token`,
      });
    });

    it('generates an MCP_STATE_KEY of at least 32 bytes and stores it in Secrets Manager', () => {
      expect(run.one(T.password, 'mcp-fleet-state-key').inputs.length).toBeGreaterThanOrEqual(32);
      const stored = JSON.parse(run.one(T.secretVersion, 'mcp-fleet-state-key').inputs.secretString);
      expect(stored).toEqual({ MCP_STATE_KEY: `${FAKE_SECRET_PREFIX}mcp-fleet-state-key` });
    });

    it('generates the API keys the stack file does not set, stores them, and exports every generated secret', async () => {
      expect(run.one(T.password, 'mcp-fleet-app-api-key').inputs).toMatchObject({
        length: 48,
        special: false,
      });
      const stored = JSON.parse(run.one(T.secretVersion, 'mcp-fleet-app').inputs.secretString);
      expect(stored).toEqual({ AUTH_API_KEYS: `${FAKE_SECRET_PREFIX}mcp-fleet-app-api-key` });
      // `pulumi stack output --show-secrets` is how the operator reads them; they stay secret outputs.
      for (const output of ['apiKeys', 'redisAuthToken', 'mcpStateKey']) {
        expect(await run.outputs[output].isSecret, output).toBe(true);
      }
      expect(await promiseOf(run.outputs.apiKeys)).toEqual({
        app: `${FAKE_SECRET_PREFIX}mcp-fleet-app-api-key`,
      });
      expect(await promiseOf(run.outputs.redisAuthToken)).toBe(
        `${FAKE_SECRET_PREFIX}mcp-fleet-redis-auth-token`,
      );
      expect(await promiseOf(run.outputs.mcpStateKey)).toBe(`${FAKE_SECRET_PREFIX}mcp-fleet-state-key`);
    });
  });
}
