import * as pulumi from '@pulumi/pulumi';
import { loadStackConfig } from './config.js';
import { EcsPlatform } from './ecs/index.js';
import { EksPlatform } from './eks/index.js';
import { Foundation } from './foundation/index.js';

/**
 * The entry Pulumi runs (Pulumi.yaml `main`). Config is parsed once, here: a bad stack config
 * throws before any resource is registered. Everything below receives plain validated values.
 */
const config = loadStackConfig();
const stack = pulumi.getStack();
const tags = { project: 'mcp-fleet', stack, 'managed-by': 'pulumi' };
const servers = Object.entries(config.servers);

const foundation = new Foundation('mcp-fleet', {
  vpc: config.vpc,
  redis: config.redis,
  image: config.image,
  buildApp: servers.some(([, server]) => server.build === 'app'),
  needsRedis: servers.some(([, server]) => server.redis),
  // Secret values are wrapped at once so they stay encrypted in state and masked in output.
  serverSecrets: Object.fromEntries(
    Object.entries(config.serverSecrets).map(([server, values]) => [
      server,
      Object.fromEntries(Object.entries(values).map(([key, value]) => [key, pulumi.secret(value)])),
    ]),
  ),
  deletionProtection: config.deletionProtection,
  tags,
});

const images: Record<string, pulumi.Input<string>> = Object.fromEntries(
  servers.map(([name, server]) => [
    name,
    server.image ?? (foundation.registry.appImage as pulumi.Output<string>),
  ]),
);

const shared = {
  servers: config.servers,
  images,
  foundation,
  certificateArn: config.certificateArn,
  logRetentionDays: config.logRetentionDays,
  deletionProtection: config.deletionProtection,
  imagePlatform: config.image.platform,
  tags,
};
const ecs =
  config.platform === 'ecs' ? new EcsPlatform('mcp-fleet', { ...shared, ecs: config.ecs }) : undefined;
const eks =
  config.platform === 'eks'
    ? new EksPlatform('mcp-fleet', { ...shared, eks: config.eks, ingress: config.ingress })
    : undefined;
const platform = ecs ?? eks;

export const platformName = config.platform;
/** server name → public MCP URL. */
export const serverUrls = platform?.serverUrls;
/** The Redis primary endpoint host (never the AUTH token: that lives in Secrets Manager). */
export const redisEndpoint = foundation.redis?.endpoint;
export const imageUri = foundation.registry.appImage;
export const repositoryUrl = foundation.registry.repositoryUrl;
export const clusterName = platform?.clusterName;
/** ECS: the ALB's DNS name; point each server's host at it (CNAME or alias). */
export const loadBalancerDnsName = ecs?.loadBalancerDnsName;
/** EKS: the ingress controller's NLB hostname; point each server's host at it. */
export const ingressHostname = eks?.ingressHostname;
/** EKS: a kubeconfig that runs `aws eks get-token`; `pulumi stack output --show-secrets kubeconfig`. */
export const kubeconfig = eks?.kubeconfig;
