import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { isUpstream, type ServerConfig, type StackConfig } from '../config.js';
import { hostRecords } from '../foundation/dns.js';
import type { Foundation } from '../foundation/index.js';
import { McpWorkload, workloadLabels } from '../k8s/workload.js';
import { INGRESS_UPSTREAM_IDLE_SECONDS, plainEnv, serverUrls } from '../shared/runtime.js';
import { upstreamServers, upstreamsJson, workloadNamespace } from '../shared/upstreams.js';
import { installAddons } from './addons.js';
import { autoModeNodes } from './auto-mode.js';
import { checkCapacity, platformPods } from './capacity-check.js';
import { issueCertificate, TLS_SECRET } from './certificates.js';
import { EksCluster } from './cluster.js';
import { installClusterAutoscaler } from './cluster-autoscaler.js';
import { checkComputeMode } from './compute-guard.js';
import { INGRESS_NAMESPACE, IngressController } from './ingress-controller.js';
import { kubeconfig } from './kubeconfig.js';
import { installLoadBalancerController } from './load-balancer-controller.js';

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
  /** METRICS_PORT and who may scrape it (the stack's `metrics` key). */
  metrics: StackConfig['metrics'];
  logRetentionDays: number;
  deletionProtection: boolean;
  /** The image architecture, which the nodes must match. */
  imagePlatform: StackConfig['image']['platform'];
  tags: Record<string, string>;
}

/**
 * EKS: the cluster and addons, node autoscaling, one Kubernetes provider, the load balancer
 * controller and nginx behind an NLB, and one McpWorkload per server.
 */
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
  const clusterName = `${name}-${stack}`;
  const autoMode = args.eks.compute === 'auto';
  const architecture = args.imagePlatform === 'linux/arm64' ? 'arm64' : 'x86_64';
  const domain = foundation.domain;
  // With a domain, TLS ends in nginx with a certificate cert-manager keeps (certificates.ts).
  const tlsSecret = domain ? TLS_SECRET : undefined;
  const scheme = domain ? 'https' : 'http';
  const region = aws.getRegionOutput({}, { parent }).region;

  // Preview-time checks: the pods fit at their maximum, and the compute mode does not switch.
  const demand = platformPods(args, domain !== undefined);
  const capacity = checkCapacity(demand, args.eks);
  const computeMode = checkComputeMode(clusterName, args.eks.compute);
  const eks = new EksCluster(
    name,
    {
      clusterName,
      eks: args.eks,
      architecture,
      subnetIds: foundation.network.privateSubnetIds,
      logRetentionDays: args.logRetentionDays,
      deletionProtection: args.deletionProtection,
      computeChecked: pulumi.all([computeMode, capacity]).apply(([mode]) => mode),
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
    kubernetesVersion: args.eks.version,
    versions: args.eks.addonVersions,
    autoMode,
    dependsOn: eks.compute,
    tags: args.tags,
  });
  const config = pulumi.secret(
    kubeconfig({
      clusterName: eks.cluster.name,
      endpoint: eks.cluster.endpoint,
      certificateAuthority: eks.cluster.certificateAuthority.data,
      region,
    }),
  );
  // Every Kubernetes call waits for the access policies that allow it (finding 14: on a first `up`
  // the charts raced the AccessPolicyAssociations and failed Unauthorized).
  const provider = new k8s.Provider(
    `${name}-k8s`,
    { kubeconfig: config, enableServerSideApply: true },
    { parent, dependsOn: eks.access },
  );
  const ready = [...eks.compute, ...addons];

  // Managed node groups: the Cluster Autoscaler adds nodes, the load balancer controller makes the
  // NLB. Auto Mode does both itself, on the program's NodePool.
  const platform = autoMode
    ? autoModeNodes(parent, name, {
        clusterName: eks.cluster.name,
        subnetIds: foundation.network.privateSubnetIds,
        clusterSecurityGroupId: eks.clusterSecurityGroupId,
        nodePool: args.eks.nodePool,
        architecture: architecture === 'arm64' ? 'arm64' : 'amd64',
        provider,
        dependsOn: ready,
        tags: args.tags,
      })
    : [
        installClusterAutoscaler(parent, name, {
          clusterName,
          kubernetesVersion: args.eks.version,
          region,
          provider,
          dependsOn: ready,
          tags: args.tags,
        }),
        installLoadBalancerController(parent, name, {
          clusterName,
          region,
          vpcId: foundation.network.vpcId,
          provider,
          dependsOn: ready,
          tags: args.tags,
        }),
      ];

  const ingressNamespace = new k8s.core.v1.Namespace(
    `${name}-ingress-ns`,
    {
      metadata: {
        name: INGRESS_NAMESPACE,
        labels: {
          // nginx binds 80/443 with NET_BIND_SERVICE: baseline, not restricted.
          'pod-security.kubernetes.io/enforce': 'baseline',
          // A controller pod turns Ready only once the NLB's health check passes on it, so a rollout
          // never stops old pods before new ones take traffic ("Pod readiness gate", LBC docs).
          'elbv2.k8s.aws/pod-readiness-gate-inject': 'enabled',
        },
      },
    },
    { parent, provider, dependsOn: ready },
  );
  const certificate = domain
    ? issueCertificate(parent, name, {
        domain: domain.name,
        zoneId: domain.zoneId,
        region,
        clusterName: eks.cluster.name,
        namespace: ingressNamespace,
        provider,
        dependsOn: [...ready, ...platform],
        tags: args.tags,
      })
    : undefined;
  const controller = new IngressController(
    `${name}-ingress`,
    {
      controller: args.ingress.controller,
      ingress: args.ingress,
      tlsSecret,
      autoMode,
      namespace: ingressNamespace,
      provider,
      dependsOn: [...ready, ...platform, ...(certificate ? [certificate] : [])],
    },
    { parent },
  );

  const fronted = upstreamServers(args.servers);
  const upstreams = upstreamsJson(args.servers, 'eks');
  const appName = Object.entries(args.servers).find(([, server]) => server.build === 'app')?.[0];
  // The app's pods: the only clients of a server behind its gateway.
  const appPods = appName
    ? { namespace: workloadNamespace(appName), podLabels: workloadLabels(appName) }
    : undefined;
  for (const [serverName, server] of Object.entries(args.servers)) {
    const app = server.build === 'app';
    const metrics = app
      ? {
          port: args.metrics.port,
          namespace: args.metrics.scrapeNamespace,
          podMonitor: args.metrics.podMonitor,
        }
      : undefined;
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
          metricsPort: metrics?.port,
          upstreams: app ? upstreams : undefined,
          redisCluster: foundation.redis?.clusterMode,
        }),
        secrets: foundation.secretsFor(
          serverName,
          server.redis,
          app ? fronted.map(([upstream]) => upstream) : [],
        ),
        provider,
        ingressController: args.ingress.controller,
        controllerNamespace: controller.namespace,
        metrics,
        tls: tlsSecret !== undefined,
        vpcCidr: foundation.network.cidr,
        gatewayPods: isUpstream(server) ? appPods : undefined,
        upstreams: app
          ? fronted.map(([upstream, upstreamServer]) => ({
              namespace: workloadNamespace(upstream),
              podLabels: workloadLabels(upstream),
              port: upstreamServer.port,
            }))
          : undefined,
        clusterName: eks.cluster.name,
        // The controller's admission webhook must be ready; on Auto Mode, the NodePool must exist.
        dependsOn: [controller, ...platform],
        tags: args.tags,
      },
      { parent },
    );
  }
  domain?.cnameTo(hostRecords(args.servers), controller.hostname, parent);
  return {
    clusterName: eks.cluster.name,
    kubeconfig: config,
    ingressHostname: controller.hostname,
    serverUrls: serverUrls(args.servers, scheme, controller.hostname),
  };
}
