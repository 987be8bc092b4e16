import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ServerConfig, StackConfig } from '../config.js';
import type { Foundation } from '../foundation/index.js';
import { mcpUrl, plainEnv } from '../shared/runtime.js';
import { FargateServer } from './fargate-server.js';
import { LoadBalancer } from './load-balancer.js';

export interface EcsPlatformArgs {
  /** Validated servers from the stack's `servers` map. */
  servers: Record<string, ServerConfig>;
  /** server name → image reference to run. */
  images: Record<string, pulumi.Input<string>>;
  /** Network, Redis and secrets shared with the other platform. */
  foundation: Foundation;
  /** ECS settings from the stack's `ecs` key. */
  ecs: StackConfig['ecs'];
  /** ACM certificate for HTTPS on the ALB. */
  certificateArn?: string;
  logRetentionDays: number;
  deletionProtection: boolean;
  /** The image architecture, which the tasks' runtime platform must match. */
  imagePlatform: StackConfig['image']['platform'];
  tags: Record<string, string>;
}

/** ECS Fargate: a cluster, one public ALB, and one FargateServer per configured server. */
export class EcsPlatform extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly loadBalancerDnsName: pulumi.Output<string>;
  /** server name → public MCP URL. */
  readonly serverUrls: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: EcsPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:ecs:EcsPlatform', name, {}, opts);
    const built = buildEcsPlatform(this, name, args);
    this.clusterName = built.cluster.name;
    this.loadBalancerDnsName = built.loadBalancer.dnsName;
    this.serverUrls = built.serverUrls;
    this.registerOutputs({ clusterName: this.clusterName, serverUrls: this.serverUrls });
  }
}

function buildEcsPlatform(parent: pulumi.Resource, name: string, args: EcsPlatformArgs) {
  const { foundation } = args;
  const cluster = new aws.ecs.Cluster(
    `${name}-cluster`,
    { settings: [{ name: 'containerInsights', value: args.ecs.containerInsights }], tags: args.tags },
    { parent },
  );
  const loadBalancer = new LoadBalancer(
    name,
    {
      vpcId: foundation.network.vpcId,
      subnetIds: foundation.network.publicSubnetIds,
      certificateArn: args.certificateArn,
      idleTimeoutSeconds: args.ecs.idleTimeoutSeconds,
      deletionProtection: args.deletionProtection,
      tags: args.tags,
    },
    { parent },
  );
  const region = aws.getRegionOutput({}, { parent }).region;
  const redis = foundation.redis;
  const stack = pulumi.getStack();

  const urls: Record<string, pulumi.Output<string>> = {};
  orderBySpecificity(args.servers).forEach(([serverName, server], index) => {
    new FargateServer(
      serverName,
      {
        server,
        image: args.images[serverName] ?? missingImage(serverName),
        env: plainEnv(serverName, server, {
          stack,
          scheme: loadBalancer.scheme,
          proxyIdleTimeoutSeconds: args.ecs.idleTimeoutSeconds,
        }),
        secrets: foundation.secretsFor(serverName, server.redis),
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        vpcId: foundation.network.vpcId,
        subnetIds: foundation.network.privateSubnetIds,
        loadBalancer,
        rulePriority: (index + 1) * 10,
        allowRedis: redis
          ? (label, securityGroupId, owner) => redis.allowFrom(label, securityGroupId, owner)
          : undefined,
        healthCheckGracePeriodSeconds: args.ecs.healthCheckGracePeriodSeconds,
        logRetentionDays: args.logRetentionDays,
        cpuArchitecture: args.imagePlatform === 'linux/arm64' ? 'ARM64' : 'X86_64',
        region,
        tags: { ...args.tags, 'mcp-fleet/server': serverName },
      },
      { parent },
    );
    urls[serverName] = server.ingress.host
      ? pulumi.output(mcpUrl(loadBalancer.scheme, server.ingress.host, server))
      : loadBalancer.dnsName.apply((dns) => mcpUrl(loadBalancer.scheme, dns, server));
  });
  return { cluster, loadBalancer, serverUrls: pulumi.all(urls) };
}

/** Host-specific and longer paths first, so a catch-all never shadows a narrower route. */
export function orderBySpecificity(servers: Record<string, ServerConfig>): [string, ServerConfig][] {
  return Object.entries(servers).sort(([nameA, a], [nameB, b]) => {
    const hostOrder = Number(b.ingress.host !== undefined) - Number(a.ingress.host !== undefined);
    if (hostOrder !== 0) return hostOrder;
    const pathOrder = b.ingress.path.length - a.ingress.path.length;
    return pathOrder !== 0 ? pathOrder : nameA.localeCompare(nameB);
  });
}

function missingImage(server: string): never {
  throw new Error(`server ${server} has no image; this is a bug in infra/index.ts`);
}
