import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

export interface RedisArgs {
  /** `valkey` (the default: the open-source fork AWS prices lower) or `redis`. */
  engine: 'valkey' | 'redis';
  /** Engine version; defaults to the newest major this program is tested with. */
  engineVersion?: string;
  /** ElastiCache node type, e.g. cache.t4g.small. */
  nodeType: string;
  /** Multi-AZ with automatic failover (production). */
  multiAz: boolean;
  /** Read replicas besides the primary. */
  replicas: number;
  /** Days of automatic snapshots; 0 disables them. */
  snapshotRetentionDays: number;
  /** Keep a final snapshot when the group is deleted. */
  deletionProtection: boolean;
  vpcId: pulumi.Input<string>;
  /** Private subnets only: Redis is never reachable from the internet. */
  subnetIds: pulumi.Input<string>[];
  tags: Record<string, string>;
}

export const REDIS_PORT = 6379;
const DEFAULT_VERSIONS = { valkey: '8.0', redis: '7.1' } as const;

/**
 * One ElastiCache replication group shared by every server node: TLS in transit, encrypted at rest,
 * an AUTH token kept in Secrets Manager together with the full REDIS_URL the app reads.
 * Its security group starts empty; each platform admits its own tasks or pods with `allowFrom`.
 */
export class Redis extends pulumi.ComponentResource {
  readonly endpoint: pulumi.Output<string>;
  readonly port = REDIS_PORT;
  readonly securityGroupId: pulumi.Output<string>;
  /** Secrets Manager secret holding JSON `{ REDIS_URL, AUTH_TOKEN }`. */
  readonly secretArn: pulumi.Output<string>;
  /** `rediss://:TOKEN@host:6379`, marked secret. */
  readonly url: pulumi.Output<string>;
  private readonly name: string;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:foundation:Redis', name, {}, opts);
    this.name = name;
    const built = buildRedis(this, name, args);
    this.endpoint = built.group.primaryEndpointAddress;
    this.securityGroupId = built.securityGroup.id;
    this.secretArn = built.secret.arn;
    this.url = built.url;
    this.registerOutputs({ endpoint: this.endpoint, securityGroupId: this.securityGroupId });
  }

  /** Admits one security group (the app's tasks, or the cluster's nodes/pods) on the Redis port. */
  allowFrom(label: string, sourceSecurityGroupId: pulumi.Input<string>, parent: pulumi.Resource): void {
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
  }
}

function buildRedis(parent: pulumi.Resource, name: string, args: RedisArgs) {
  const opts = { parent };
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
  // Alphanumeric only: ElastiCache rejects some punctuation, and the token is embedded in a URL.
  const token = new random.RandomPassword(`${name}-auth-token`, { length: 64, special: false }, opts);
  const group = new aws.elasticache.ReplicationGroup(
    `${name}-group`,
    {
      description: 'MCP session records, event streams and cross-node bus',
      engine: args.engine,
      engineVersion: args.engineVersion ?? DEFAULT_VERSIONS[args.engine],
      nodeType: args.nodeType,
      port: REDIS_PORT,
      numCacheClusters: 1 + args.replicas,
      automaticFailoverEnabled: args.multiAz,
      multiAzEnabled: args.multiAz,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: token.result,
      subnetGroupName: subnetGroup.name,
      securityGroupIds: [securityGroup.id],
      snapshotRetentionLimit: args.snapshotRetentionDays,
      finalSnapshotIdentifier: args.deletionProtection ? `${name}-final-${pulumi.getStack()}` : undefined,
      autoMinorVersionUpgrade: true,
      tags: args.tags,
    },
    opts,
  );
  const url = pulumi.secret(
    pulumi.interpolate`rediss://:${token.result}@${group.primaryEndpointAddress}:${REDIS_PORT}`,
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
  new aws.secretsmanager.SecretVersion(
    `${name}-secret`,
    {
      secretId: secret.id,
      secretString: pulumi.secret(
        pulumi
          .all([url, token.result])
          .apply(([redisUrl, authToken]) => JSON.stringify({ REDIS_URL: redisUrl, AUTH_TOKEN: authToken })),
      ),
    },
    opts,
  );
  return { securityGroup, group, secret, url };
}
