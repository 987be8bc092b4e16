import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { isPublic, type ServerConfig, type StackConfig } from '../config.js';
import { hostRecords } from '../foundation/dns.js';
import type { Foundation } from '../foundation/index.js';
import { plainEnv, serverUrls } from '../shared/runtime.js';
import { upstreamServers, upstreamsJson } from '../shared/upstreams.js';
import { FargateServer, type FargateServerArgs } from './fargate-server.js';
import { LoadBalancer } from './load-balancer.js';
import { MetricsSink } from './metrics-collector.js';
import { allowAppToUpstream, cloudMapNamespace, discoveryService } from './upstreams.js';

export interface EcsPlatformArgs {
  /** Validated servers from the stack's `servers` map. */
  servers: Record<string, ServerConfig>;
  /** server name → image reference to run. */
  images: Record<string, pulumi.Input<string>>;
  /** Network, Redis, secrets and the domain, shared with the other platform. */
  foundation: Foundation;
  /** ECS settings from the stack's `ecs` key. */
  ecs: StackConfig['ecs'];
  /** Where the app's metrics go (the stack's `metrics` key). */
  metrics: StackConfig['metrics'];
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
      certificateArn: foundation.domain?.certificateArn,
      idleTimeoutSeconds: args.ecs.idleTimeoutSeconds,
      deletionProtection: args.deletionProtection,
      tags: args.tags,
    },
    { parent },
  );
  const sink =
    args.metrics.exporter === 'none'
      ? undefined
      : new MetricsSink(
          name,
          { exporter: args.metrics.exporter, logRetentionDays: args.logRetentionDays, tags: args.tags },
          { parent },
        );
  const region = aws.getRegionOutput({}, { parent }).region;
  const redis = foundation.redis;
  const stack = pulumi.getStack();

  const fronted = upstreamServers(args.servers);
  const upstreams = upstreamsJson(args.servers, 'ecs');
  const namespace =
    fronted.length > 0
      ? cloudMapNamespace(parent, name, { vpcId: foundation.network.vpcId, tags: args.tags })
      : undefined;
  const built = new Map<string, FargateServer>();
  for (const [serverName, server] of Object.entries(args.servers)) {
    const app = server.build === 'app';
    const exposure: FargateServerArgs['exposure'] =
      isPublic(server) || !namespace
        ? { kind: 'alb', loadBalancer }
        : {
            kind: 'gateway',
            registryArn: discoveryService(parent, serverName, { namespaceId: namespace.id, tags: args.tags })
              .arn,
          };
    const fargate = new FargateServer(
      serverName,
      {
        server,
        image: args.images[serverName] ?? missingImage(serverName),
        env: plainEnv(serverName, server, {
          stack,
          scheme: loadBalancer.scheme,
          proxyIdleTimeoutSeconds: args.ecs.idleTimeoutSeconds,
          fallbackHost: loadBalancer.dnsName,
          metricsPort: app ? args.metrics.port : undefined,
          upstreams: app ? upstreams : undefined,
          redisCluster: redis?.clusterMode,
        }),
        secrets: foundation.secretsFor(
          serverName,
          server.redis,
          app ? fronted.map(([upstream]) => upstream) : [],
        ),
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        vpcId: foundation.network.vpcId,
        subnetIds: foundation.network.privateSubnetIds,
        exposure,
        allowRedis: redis
          ? (label, securityGroupId, owner) =>
              redis.allowFrom(label, securityGroupId, owner, { egress: true })
          : undefined,
        metrics:
          app && sink
            ? { sink, port: args.metrics.port, scrapeIntervalSeconds: args.metrics.scrapeIntervalSeconds }
            : undefined,
        healthCheckGracePeriodSeconds: args.ecs.healthCheckGracePeriodSeconds,
        logRetentionDays: args.logRetentionDays,
        cpuArchitecture: args.imagePlatform === 'linux/arm64' ? 'ARM64' : 'X86_64',
        region,
        tags: { ...args.tags, 'mcp-fleet/server': serverName },
      },
      { parent },
    );
    built.set(serverName, fargate);
  }
  // The app's tasks are the only way in to an upstream's tasks (the config check ensures one app).
  const appName = Object.entries(args.servers).find(([, server]) => server.build === 'app')?.[0];
  const appTasks = appName ? built.get(appName) : undefined;
  for (const [upstream, server] of fronted) {
    const upstreamTasks = built.get(upstream);
    if (!appName || !appTasks || !upstreamTasks) continue;
    allowAppToUpstream(parent, {
      app: appName,
      appSecurityGroupId: appTasks.securityGroupId,
      upstream,
      upstreamSecurityGroupId: upstreamTasks.securityGroupId,
      port: server.port,
    });
  }
  foundation.domain?.aliasTo(hostRecords(args.servers), loadBalancer, parent);
  return {
    cluster,
    loadBalancer,
    serverUrls: serverUrls(args.servers, loadBalancer.scheme, loadBalancer.dnsName),
  };
}

function missingImage(server: string): never {
  throw new Error(`server ${server} has no image; this is a bug in infra/index.ts`);
}
