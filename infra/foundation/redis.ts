import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { SecretEnv } from './secrets.js';

export interface RedisArgs {
  /** `valkey` (the default: the open-source fork AWS prices lower) or `redis`. */
  engine: 'valkey' | 'redis';
  /** Engine version; defaults to the newest major this program is tested with. */
  engineVersion?: string;
  /** ElastiCache node type, e.g. cache.t4g.small. */
  nodeType: string;
  /** Multi-AZ with automatic failover (production). */
  multiAz: boolean;
  /** Read replicas besides the primary (of each shard, with clusterMode). */
  replicas: number;
  /** Cluster mode: the keys spread over `shards` node groups; clients start from the configuration endpoint. */
  clusterMode: boolean;
  /** Node groups with clusterMode (3 when unset). */
  shards?: number;
  /** Days of automatic snapshots; 0 disables them. */
  snapshotRetentionDays: number;
  /** Keep a final snapshot when the group is deleted. */
  deletionProtection: boolean;
  /** The secure `redisAuthToken` stack key; unset generates one. */
  authToken?: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  /** Private subnets only: Redis is never reachable from the internet. */
  subnetIds: pulumi.Input<string>[];
  tags: Record<string, string>;
}

export const REDIS_PORT = 6379;
const DEFAULT_VERSIONS = { valkey: '8.0', redis: '7.1' } as const;
export const DEFAULT_SHARDS = 3;

/** The ElastiCache parameter-group family of an engine version: `valkey8`, `redis7`. */
export function parameterFamily(engine: 'valkey' | 'redis', version: string): string {
  return `${engine}${version.split('.')[0]}`;
}

/**
 * One ElastiCache replication group shared by every server node: TLS in transit, encrypted at rest,
 * an AUTH token kept in Secrets Manager together with the full REDIS_URL the app reads.
 * Its security group starts empty; each platform admits its own tasks or pods with `allowFrom`.
 * With cluster mode, REDIS_URL names the configuration endpoint, from which the client discovers
 * the shards, and `clusterMode` tells the platforms to set REDIS_CLUSTER=true.
 */
export class Redis extends pulumi.ComponentResource {
  /** The primary endpoint, or the configuration endpoint with cluster mode. */
  readonly endpoint: pulumi.Output<string>;
  readonly clusterMode: boolean;
  readonly port = REDIS_PORT;
  readonly securityGroupId: pulumi.Output<string>;
  /** REDIS_URL (`rediss://:TOKEN@host:6379`) from the Secrets Manager secret `{ REDIS_URL, AUTH_TOKEN }`. */
  readonly redisUrl: SecretEnv;
  /** The AUTH token, marked secret. */
  readonly authToken: pulumi.Output<string>;
  private readonly name: string;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:foundation:Redis', name, {}, opts);
    this.name = name;
    const built = buildRedis(this, name, args);
    this.clusterMode = args.clusterMode;
    this.endpoint = built.endpoint;
    this.securityGroupId = built.securityGroup.id;
    this.authToken = built.token;
    this.redisUrl = {
      name: 'REDIS_URL',
      secretArn: built.secret.arn,
      jsonKey: 'REDIS_URL',
      value: built.url,
      version: built.version,
      sources: [built.group],
    };
    this.registerOutputs({ endpoint: this.endpoint, securityGroupId: this.securityGroupId });
  }

  /**
   * Lets one security group (the app's tasks, or the cluster's nodes/pods) open connections to Redis:
   * ingress on the Redis group and, unless the source's owner manages its egress itself, egress on
   * the source. The provider removes the default allow-all egress of every security group it creates
   * (node_modules/@pulumi/aws/ec2/securityGroup.d.ts), so without the egress rule the SYN is dropped.
   */
  allowFrom(
    label: string,
    sourceSecurityGroupId: pulumi.Input<string>,
    parent: pulumi.Resource,
    options: { egress: boolean },
  ): void {
    new aws.vpc.SecurityGroupIngressRule(
      `${this.name}-from-${label}`,
      {
        securityGroupId: this.securityGroupId,
        referencedSecurityGroupId: sourceSecurityGroupId,
        ipProtocol: 'tcp',
        fromPort: REDIS_PORT,
        toPort: REDIS_PORT,
        description: `Redis from ${label}`,
      },
      { parent },
    );
    if (!options.egress) return;
    new aws.vpc.SecurityGroupEgressRule(
      `${label}-to-${this.name}`,
      {
        securityGroupId: sourceSecurityGroupId,
        referencedSecurityGroupId: this.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: REDIS_PORT,
        toPort: REDIS_PORT,
        description: `${label} to Redis`,
      },
      { parent },
    );
  }
}

function buildRedis(parent: pulumi.Resource, name: string, args: RedisArgs) {
  const opts = { parent };
  const engineVersion = args.engineVersion ?? DEFAULT_VERSIONS[args.engine];
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-sg`,
    { vpcId: args.vpcId, description: 'ElastiCache: only the MCP servers on 6379', tags: args.tags },
    opts,
  );
  const subnetGroup = new aws.elasticache.SubnetGroup(
    `${name}-subnets`,
    { subnetIds: args.subnetIds, description: 'Private subnets for the MCP session store', tags: args.tags },
    opts,
  );
  // ElastiCache's default policy is volatile-lru: under memory pressure it evicts keys that have a
  // TTL, and every session record has one, so live sessions would vanish (404 to their clients)
  // without an error anywhere. noeviction makes a full Redis refuse writes instead ("OOM command not
  // allowed"): new sessions fail loudly, and existing ones keep working.
  // Source: "Redis OSS-specific parameters" / "Valkey-specific parameters", ElastiCache user guide.
  const parameters = new aws.elasticache.ParameterGroup(
    `${name}-params`,
    {
      family: parameterFamily(args.engine, engineVersion),
      description: 'MCP session store: never evict session records',
      parameters: [
        { name: 'maxmemory-policy', value: 'noeviction' },
        // Cluster mode is chosen by the parameter group ("default.*.cluster.on" for AWS's own).
        ...(args.clusterMode ? [{ name: 'cluster-enabled', value: 'yes' }] : []),
      ],
      tags: args.tags,
    },
    opts,
  );
  // Alphanumeric only: ElastiCache rejects some punctuation, and the token is embedded in a URL.
  const token = pulumi.secret(
    pulumi.output(
      args.authToken ??
        new random.RandomPassword(`${name}-auth-token`, { length: 64, special: false }, opts).result,
    ),
  );
  // A fixed final-snapshot name would collide with the snapshot a previous destroy of this stack
  // left behind (SnapshotAlreadyExistsFault); the suffix is drawn once per stack lifetime.
  const snapshotSuffix = new random.RandomId(`${name}-final-snapshot`, { byteLength: 4 }, opts);
  const group = new aws.elasticache.ReplicationGroup(
    `${name}-group`,
    {
      description: 'MCP session records, event streams and cross-node bus',
      engine: args.engine,
      engineVersion,
      nodeType: args.nodeType,
      port: REDIS_PORT,
      parameterGroupName: parameters.name,
      ...(args.clusterMode
        ? {
            clusterMode: 'enabled',
            numNodeGroups: args.shards ?? DEFAULT_SHARDS,
            replicasPerNodeGroup: args.replicas,
          }
        : { numCacheClusters: 1 + args.replicas }),
      // Cluster mode requires it: a shard's replica takes over its slots.
      automaticFailoverEnabled: args.multiAz || args.clusterMode,
      multiAzEnabled: args.multiAz,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: token,
      // A changed token is added next to the old one, so running nodes keep working until they roll.
      authTokenUpdateStrategy: 'ROTATE',
      subnetGroupName: subnetGroup.name,
      securityGroupIds: [securityGroup.id],
      snapshotRetentionLimit: args.snapshotRetentionDays,
      finalSnapshotIdentifier: args.deletionProtection
        ? pulumi.interpolate`${name}-final-${pulumi.getStack()}-${snapshotSuffix.hex}`
        : undefined,
      autoMinorVersionUpgrade: true,
      tags: args.tags,
    },
    opts,
  );
  const endpoint = args.clusterMode ? group.configurationEndpointAddress : group.primaryEndpointAddress;
  // A configured token may hold #, & or ^: percent-encoded so it stays inside the URL's userinfo
  // (ioredis decodes it).
  const url = pulumi.secret(
    pulumi.interpolate`rediss://:${token.apply(encodeURIComponent)}@${endpoint}:${REDIS_PORT}`,
  );
  const secret = new aws.secretsmanager.Secret(
    `${name}-secret`,
    {
      description: 'REDIS_URL and AUTH token for the MCP servers',
      recoveryWindowInDays: args.deletionProtection ? 30 : 0,
      tags: args.tags,
    },
    opts,
  );
  const version = new aws.secretsmanager.SecretVersion(
    `${name}-secret`,
    {
      secretId: secret.id,
      secretString: pulumi.secret(
        pulumi
          .all([url, token])
          .apply(([redisUrl, authToken]) => JSON.stringify({ REDIS_URL: redisUrl, AUTH_TOKEN: authToken })),
      ),
    },
    opts,
  );
  return { securityGroup, group, endpoint, secret, version, url, token };
}
