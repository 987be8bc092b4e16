import * as pulumi from '@pulumi/pulumi';
import { authSecretNames, loadStackConfig, upstreamHeaderSecrets } from './config.js';
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
/** Secret stack values are wrapped at once, so they stay encrypted in state and masked in output. */
const secretOf = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));

const foundation = new Foundation('mcp-fleet', {
  vpc: config.vpc,
  redis: config.redis,
  image: config.image,
  buildApp: servers.some(([, server]) => server.build === 'app'),
  needsRedis: servers.some(([, server]) => server.redis),
  serverSecrets: Object.fromEntries(
    Object.entries(config.serverSecrets).map(([server, values]) => [
      server,
      Object.fromEntries(Object.entries(values).map(([key, value]) => [key, pulumi.secret(value)])),
    ]),
  ),
  // API keys (and admin keys) the stack does not set are generated: a new stack needs no invented credential.
  generateKeys: Object.fromEntries(
    servers.map(([name, server]) => [
      name,
      authSecretNames(server).filter((secret) => config.serverSecrets[name]?.[secret] === undefined),
    ]),
  ),
  upstreamHeaderSecrets: Object.fromEntries(
    servers.map(([name, server]) => [name, upstreamHeaderSecrets(server)]),
  ),
  redisAuthToken: secretOf(config.redisAuthToken),
  stateKey: secretOf(config.stateKey),
  // ACM serves TLS at the ALB on ECS; on EKS TLS ends in nginx, with a certificate cert-manager keeps.
  domain: config.domain
    ? { name: config.domain, hostedZoneId: config.hostedZoneId, acmCertificate: config.platform === 'ecs' }
    : undefined,
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
  logRetentionDays: config.logRetentionDays,
  deletionProtection: config.deletionProtection,
  imagePlatform: config.image.platform,
  tags,
};
const ecs =
  config.platform === 'ecs'
    ? new EcsPlatform('mcp-fleet', { ...shared, ecs: config.ecs, metrics: config.metrics })
    : undefined;
const eks =
  config.platform === 'eks'
    ? new EksPlatform('mcp-fleet', {
        ...shared,
        eks: config.eks,
        ingress: config.ingress,
        metrics: config.metrics,
      })
    : undefined;
const platform = ecs ?? eks;

export const platformName = config.platform;
/**
 * server name → public MCP URL (https with a `domain`, else http on the load balancer's name). A
 * server behind the app's gateway is at `<app URL>/servers/<name>/<endpoint>`.
 */
export const serverUrls = platform?.serverUrls;
/** server name → the API keys its callers send as `Bearer` (generated unless set); `--show-secrets`. */
export const apiKeys = pulumi.secret(pulumi.all(foundation.secrets.apiKeys));
/** server name → its administrator keys (`auth.adminKeys`; they may call notify_change); `--show-secrets`. */
export const adminApiKeys = pulumi.secret(pulumi.all(foundation.secrets.adminApiKeys));
/** The Redis AUTH token (generated unless `redisAuthToken` is set); `--show-secrets`. */
export const redisAuthToken = foundation.redis?.authToken;
/** MCP_STATE_KEY, shared by every node (generated unless `stateKey` is set); `--show-secrets`. */
export const mcpStateKey = pulumi.secret(foundation.secrets.stateKey.value);
/** The Redis primary endpoint host (the token is a separate, secret output). */
export const redisEndpoint = foundation.redis?.endpoint;
export const imageUri = foundation.registry.appImage;
export const repositoryUrl = foundation.registry.repositoryUrl;
export const clusterName = platform?.clusterName;
/** ECS: the ALB's DNS name. With a `domain`, every server host is an alias record to it. */
export const loadBalancerDnsName = ecs?.loadBalancerDnsName;
/** EKS: the ingress controller's NLB hostname. With a `domain`, every server host is a CNAME to it. */
export const ingressHostname = eks?.ingressHostname;
/** EKS: a kubeconfig that runs `aws eks get-token`; `pulumi stack output --show-secrets kubeconfig`. */
export const kubeconfig = eks?.kubeconfig;
