import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { ServerConfig, StackConfig } from '../config.js';
import { hostRecords } from '../foundation/dns.js';
import type { Foundation } from '../foundation/index.js';
import { McpWorkload } from '../k8s/workload.js';
import { INGRESS_UPSTREAM_IDLE_SECONDS, mcpUrl, plainEnv } from '../shared/runtime.js';
import { installAddons } from './addons.js';
import { EksCluster } from './cluster.js';
import { IngressController } from './ingress-controller.js';
import { kubeconfig } from './kubeconfig.js';

export interface EksPlatformArgs {
  /** Validated servers from the stack's `servers` map. */
  servers: Record<string, ServerConfig>;
  /** server name → image reference to run. */
  images: Record<string, pulumi.Input<string>>;
  /** Network, Redis and secrets shared with the other platform. */
  foundation: Foundation;
  /** EKS settings from the stack's `eks` key. */
  eks: StackConfig['eks'];
  /** Ingress controller choice from the stack's `ingress` key. */
  ingress: StackConfig['ingress'];
  logRetentionDays: number;
  deletionProtection: boolean;
  /** The image architecture, which the nodes must match. */
  imagePlatform: StackConfig['image']['platform'];
  tags: Record<string, string>;
}

/** EKS: the cluster and addons, one Kubernetes provider, the nginx controller, one McpWorkload per server. */
export class EksPlatform extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  /** Secret: it names the cluster endpoint, and tooling treats kubeconfigs as credentials. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly ingressHostname: pulumi.Output<string>;
  readonly serverUrls: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: EksPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:eks:EksPlatform', name, {}, opts);
    const built = buildEksPlatform(this, name, args);
    this.clusterName = built.clusterName;
    this.kubeconfig = built.kubeconfig;
    this.ingressHostname = built.ingressHostname;
    this.serverUrls = built.serverUrls;
    this.registerOutputs({ clusterName: this.clusterName, serverUrls: this.serverUrls });
  }
}

function buildEksPlatform(parent: pulumi.Resource, name: string, args: EksPlatformArgs) {
  const { foundation } = args;
  const stack = pulumi.getStack();
  // TLS terminates at the controller's NLB when the stack has a domain (and so a certificate).
  const certificateArn = foundation.domain?.certificateArn;
  const scheme = certificateArn ? 'https' : 'http';
  const autoMode = args.eks.compute === 'auto';
  const eks = new EksCluster(
    name,
    {
      clusterName: `${name}-${stack}`,
      eks: args.eks,
      architecture: args.imagePlatform === 'linux/arm64' ? 'arm64' : 'x86_64',
      subnetIds: foundation.network.privateSubnetIds,
      logRetentionDays: args.logRetentionDays,
      deletionProtection: args.deletionProtection,
      tags: args.tags,
    },
    { parent },
  );
  // Nodes and pods use the cluster security group, so that is what Redis admits. EKS creates that
  // group with outbound allowed to everywhere ("Amazon EKS security group requirements"), and owns it:
  // no egress rule is added to it.
  foundation.redis?.allowFrom('eks', eks.clusterSecurityGroupId, parent, { egress: false });

  const addons = installAddons(parent, name, {
    clusterName: eks.cluster.name,
    autoMode,
    dependsOn: eks.compute,
    tags: args.tags,
  });
  const config = pulumi.secret(
    kubeconfig({
      clusterName: eks.cluster.name,
      endpoint: eks.cluster.endpoint,
      certificateAuthority: eks.cluster.certificateAuthority.data,
      region: aws.getRegionOutput({}, { parent }).region,
    }),
  );
  const provider = new k8s.Provider(
    `${name}-k8s`,
    { kubeconfig: config, enableServerSideApply: true },
    { parent },
  );

  const controller = new IngressController(
    `${name}-ingress`,
    {
      controller: args.ingress.controller,
      chartVersion: args.ingress.chartVersion,
      certificateArn,
      autoMode,
      provider,
      dependsOn: [...eks.compute, ...addons],
    },
    { parent },
  );

  const urls: Record<string, pulumi.Output<string>> = {};
  for (const [serverName, server] of Object.entries(args.servers)) {
    new McpWorkload(
      serverName,
      {
        server,
        image: args.images[serverName] as pulumi.Input<string>,
        env: plainEnv(serverName, server, {
          stack,
          scheme,
          proxyIdleTimeoutSeconds: INGRESS_UPSTREAM_IDLE_SECONDS,
          fallbackHost: controller.hostname,
        }),
        secrets: foundation.secretsFor(serverName, server.redis),
        provider,
        ingressController: args.ingress.controller,
        controllerNamespace: controller.namespace,
        vpcCidr: foundation.network.cidr,
        clusterName: eks.cluster.name,
        dependsOn: [controller],
        tags: args.tags,
      },
      { parent },
    );
    const host = server.ingress.host;
    urls[serverName] = host
      ? pulumi.output(mcpUrl(scheme, host, server))
      : controller.hostname.apply((h) => mcpUrl(scheme, h, server));
  }
  foundation.domain?.cnameTo(hostRecords(args.servers), controller.hostname, parent);
  return {
    clusterName: eks.cluster.name,
    kubeconfig: config,
    ingressHostname: controller.hostname,
    serverUrls: pulumi.all(urls),
  };
}
