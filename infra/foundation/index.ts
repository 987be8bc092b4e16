import * as pulumi from '@pulumi/pulumi';
import type { StackConfig } from '../config.js';
import { PublicDomain } from './dns.js';
import { Network } from './network.js';
import { Redis } from './redis.js';
import { Registry } from './registry.js';
import { AppSecrets, type SecretEnv } from './secrets.js';

export interface FoundationArgs {
  /** VPC layout and NAT policy. */
  vpc: StackConfig['vpc'];
  /** The shared ElastiCache replication group. */
  redis: StackConfig['redis'];
  /** How the app image is built. */
  image: StackConfig['image'];
  /** Whether any server is `build: app`, i.e. whether an image must be built and pushed. */
  buildApp: boolean;
  /** Whether any server uses Redis; otherwise no replication group is created. */
  needsRedis: boolean;
  /** server name → secret name → value, from the secure `serverSecrets` key. */
  serverSecrets: Record<string, Record<string, pulumi.Input<string>>>;
  /** server name → the key variables generated for it (AUTH_API_KEYS, AUTH_ADMIN_API_KEYS) because the stack sets none. */
  generateKeys: Record<string, string[]>;
  /** server name → its `upstreamHeaders` secrets, which go to the app's container (infra/foundation/secrets.ts). */
  upstreamHeaderSecrets: Record<string, string[]>;
  /** The secure overrides of generated secrets (`redisAuthToken`, `stateKey`). */
  redisAuthToken?: pulumi.Input<string>;
  stateKey?: pulumi.Input<string>;
  /**
   * The public DNS name and its Route 53 zone, and whether it needs an ACM certificate (the ALB's);
   * unset serves HTTP on the load balancer's name.
   */
  domain?: { name: string; hostedZoneId?: string; acmCertificate: boolean };
  /** Production: final Redis snapshot, recoverable secrets, ECR repo kept with its images. */
  deletionProtection: boolean;
  /** Tags applied to every AWS resource. */
  tags: Record<string, string>;
}

/** Everything both platforms share: network, registry and app image, Redis, secrets, and the domain. */
export class Foundation extends pulumi.ComponentResource {
  readonly network: Network;
  readonly registry: Registry;
  readonly redis: Redis | undefined;
  readonly secrets: AppSecrets;
  readonly domain: PublicDomain | undefined;

  constructor(name: string, args: FoundationArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:foundation:Foundation', name, {}, opts);
    const childOpts = { parent: this };
    this.network = new Network(name, { ...args.vpc, tags: args.tags }, childOpts);
    this.registry = new Registry(
      name,
      {
        buildApp: args.buildApp,
        buildOnPreview: args.image.buildOnPreview,
        platform: args.image.platform,
        deletionProtection: args.deletionProtection,
        tags: args.tags,
      },
      childOpts,
    );
    this.redis = args.needsRedis
      ? new Redis(
          `${name}-redis`,
          {
            ...args.redis,
            authToken: args.redisAuthToken,
            deletionProtection: args.deletionProtection,
            vpcId: this.network.vpcId,
            subnetIds: this.network.privateSubnetIds,
            tags: args.tags,
          },
          childOpts,
        )
      : undefined;
    this.secrets = new AppSecrets(
      name,
      {
        serverSecrets: args.serverSecrets,
        generateKeys: args.generateKeys,
        upstreamHeaderSecrets: args.upstreamHeaderSecrets,
        stateKey: args.stateKey,
        deletionProtection: args.deletionProtection,
        tags: args.tags,
      },
      childOpts,
    );
    this.domain = args.domain
      ? new PublicDomain(name, { ...args.domain, tags: args.tags }, childOpts)
      : undefined;
    this.registerOutputs({ vpcId: this.network.vpcId, redisEndpoint: this.redis?.endpoint });
  }

  /**
   * The secrets one server receives: REDIS_URL and MCP_STATE_KEY when it uses Redis, plus its own,
   * plus, for the app that fronts the stack's upstreams, the header values its gateway sends them.
   */
  secretsFor(server: string, usesRedis: boolean, fronts: string[] = []): SecretEnv[] {
    const shared: SecretEnv[] = usesRedis && this.redis ? [this.redis.redisUrl, this.secrets.stateKey] : [];
    const headers = fronts.flatMap((upstream) => this.secrets.upstreamHeaders[upstream] ?? []);
    return [...shared, ...(this.secrets.serverSecrets[server] ?? []), ...headers];
  }
}
