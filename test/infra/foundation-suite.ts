import { beforeAll, describe, expect, it } from 'vitest';
import { LIFECYCLE_POLICY } from '../../infra/foundation/registry.js';
import { expectedFor } from './expectations.js';
import { FAKE_SECRET_PREFIX, type ProgramRun, type Stack } from './harness.js';

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
} as const;

/** The shared AWS foundation both platforms build on. */
export function describeFoundation(stack: Stack, program: () => ProgramRun): void {
  const want = expectedFor(stack);
  describe(`shared foundation on ${stack}`, () => {
    let run: ProgramRun;
    beforeAll(() => {
      run = program();
    });

    it('spreads public and private subnets across the configured AZs', () => {
      const subnets = run.ofType(T.subnet);
      const tiers = (tier: string) => subnets.filter((subnet) => subnet.inputs.tags.tier === tier);
      expect(tiers('public')).toHaveLength(want.azCount);
      expect(tiers('private')).toHaveLength(want.azCount);
      expect(new Set(tiers('private').map((subnet) => subnet.inputs.availabilityZone)).size).toBe(
        want.azCount,
      );
      expect(subnets.every((subnet) => subnet.inputs.mapPublicIpOnLaunch !== true)).toBe(true);
    });

    it('follows the NAT policy: one gateway on staging, one per AZ in production', () => {
      expect(run.ofType(T.nat)).toHaveLength(want.natGateways);
      const privateRoutes = run.ofType(T.routeTable).filter((table) => table.name.includes('-private-'));
      const natTargets = new Set(privateRoutes.map((table) => table.inputs.routes[0]?.natGatewayId));
      expect(natTargets.size).toBe(want.natGateways);
    });

    it('scans images on push and expires old ones', () => {
      expect(run.one(T.repository, 'mcp-fleet-repo').inputs.imageScanningConfiguration).toEqual({
        scanOnPush: true,
      });
      expect(JSON.parse(run.one(T.lifecycle, 'mcp-fleet-lifecycle').inputs.policy)).toEqual(LIFECYCLE_POLICY);
    });

    it('builds the app image from app/Dockerfile with the repo root as context, and pushes it', () => {
      const image = run.one(T.image, 'mcp-fleet-app').inputs;
      expect(image.context).toEqual({ location: '.' });
      expect(image.dockerfile).toEqual({ location: 'app/Dockerfile' });
      expect(image.push).toBe(true);
      expect(image.buildOnPreview).toBe(true);
      expect(image.platforms).toEqual(['linux/amd64']);
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

    it('stores each server secret from the stack config in Secrets Manager', () => {
      const stored = JSON.parse(run.one(T.secretVersion, 'mcp-fleet-app').inputs.secretString);
      expect(stored).toEqual({ AUTH_API_KEYS: `${FAKE_SECRET_PREFIX}AUTH_API_KEYS` });
    });
  });
}
