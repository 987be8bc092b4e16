import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { isPublic, type ServerConfig } from '../config.js';
import { podIdentity } from '../eks/pod-identity.js';
import { type SecretEnv, secretDependencies, secretsRevision } from '../foundation/secrets.js';
import { workloadNamespace } from '../shared/upstreams.js';
import { ingressSpec } from './ingress.js';
import { networkPolicySpec, type PeerPods } from './network-policy.js';
import { podSpec } from './pod.js';
import type { IngressController } from './sse.js';

export interface McpWorkloadArgs {
  /** Validated server config from the stack's `servers` map. */
  server: ServerConfig;
  image: pulumi.Input<string>;
  /** Plain environment (no credentials). */
  env: Record<string, pulumi.Input<string>>;
  /** Copied into the server's Secret and read by key; never plain env. */
  secrets: SecretEnv[];
  /** Any cluster's provider: the workload does not care which cluster it lands on. */
  provider: k8s.Provider;
  /** Which controller's SSE annotations the Ingress gets. */
  ingressController: IngressController;
  /** The controller's namespace, the only one NetworkPolicy admits to the traffic port. */
  controllerNamespace: string;
  /**
   * METRICS_PORT (set in `env` too) and who may scrape it: the namespace the NetworkPolicy admits to
   * that port, and whether to declare a prometheus-operator PodMonitor.
   */
  metrics?: { port: number; namespace: string; podMonitor: boolean };
  /** The controller serves the domain's certificate: each Ingress asks for TLS on its host. */
  tls: boolean;
  /** The VPC CIDR (Redis egress). */
  vpcCidr: string;
  /**
   * For a server behind the app's gateway: the app's pods, the only ones its NetworkPolicy admits.
   * Such a server gets a headless Service (one A record per ready pod: the gateway's instances) and no Ingress.
   */
  gatewayPods?: PeerPods;
  /** For the app: the pods of each server behind its gateway, which its NetworkPolicy lets it reach. */
  upstreams?: (PeerPods & { port: number })[];
  /** For the Pod Identity association, when the server has `awsPolicyArns`. */
  clusterName?: pulumi.Input<string>;
  /** Resources that must exist first (the controller, so its admission webhook is ready). */
  dependsOn?: pulumi.Resource[];
  tags: Record<string, string>;
}

/**
 * The pod-template annotation that rolls the Deployment when a secret value changes. Env read from
 * a Secret is resolved once, at container start ("Secrets", Kubernetes docs), and a changed Secret
 * alone restarts nothing; a changed pod template starts a rollout.
 */
export const SECRETS_REVISION_ANNOTATION = 'mcp-fleet/secrets-revision';

/**
 * One MCP server on Kubernetes, from namespace to NetworkPolicy: what the seed Helm chart gives
 * users, plus what it lacked (PDB, drain-safe termination, security context, network policy).
 */
export class McpWorkload extends pulumi.ComponentResource {
  readonly namespace: string;
  readonly serviceName: string;

  constructor(name: string, args: McpWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:k8s:McpWorkload', name, {}, opts);
    this.namespace = workloadNamespace(name);
    this.serviceName = name;
    buildWorkload(this, name, this.namespace, args);
    this.registerOutputs({ namespace: this.namespace });
  }
}

/** Annotations that annotation-based Prometheus scrape configs (and most agents) read. */
export function scrapeAnnotations(port: number): Record<string, string> {
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(port),
    'prometheus.io/path': '/metrics',
  };
}

/** The labels of one server's pods (and of every object of its workload). */
export function workloadLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mcp-fleet' };
}

function buildWorkload(parent: pulumi.Resource, name: string, namespaceName: string, args: McpWorkloadArgs) {
  const { server } = args;
  const opts = { parent, provider: args.provider, dependsOn: args.dependsOn };
  const labels = workloadLabels(name);
  const metadata = { name, namespace: namespaceName, labels };

  const namespace = new k8s.core.v1.Namespace(
    `${name}-ns`,
    {
      metadata: {
        name: namespaceName,
        labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    },
    opts,
  );
  const inNamespace = { ...opts, dependsOn: [namespace, ...(args.dependsOn ?? [])] };
  const usesAws = server.awsPolicyArns.length > 0;
  new k8s.core.v1.ServiceAccount(
    `${name}-sa`,
    { metadata, automountServiceAccountToken: usesAws },
    inNamespace,
  );
  // Pods that start before their association run without AWS credentials until they restart.
  const identity =
    usesAws && args.clusterName
      ? podIdentity(parent, name, {
          clusterName: args.clusterName,
          namespace: namespaceName,
          serviceAccount: name,
          policyArns: server.awsPolicyArns,
          tags: args.tags,
        })
      : undefined;

  const secretName = `${name}-secrets`;
  const secret =
    args.secrets.length > 0
      ? new k8s.core.v1.Secret(
          `${name}-secret`,
          {
            metadata: { ...metadata, name: secretName },
            type: 'Opaque',
            stringData: Object.fromEntries(args.secrets.map((entry) => [entry.name, entry.value])),
          },
          { ...inNamespace, dependsOn: [...inNamespace.dependsOn, ...secretDependencies(args.secrets)] },
        )
      : undefined;

  const autoscaled = server.autoscaling.enabled;
  const annotations = {
    ...(secret ? { [SECRETS_REVISION_ANNOTATION]: secretsRevision(args.secrets) } : {}),
    ...(args.metrics ? scrapeAnnotations(args.metrics.port) : {}),
  };
  new k8s.apps.v1.Deployment(
    `${name}-deployment`,
    {
      metadata,
      spec: {
        // With an HPA, the HPA owns the replica count; setting it here would fight it on every deploy.
        ...(autoscaled ? {} : { replicas: server.replicas }),
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
        template: {
          metadata: { labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
          spec: podSpec({
            name,
            server,
            image: args.image,
            labels,
            env: args.env,
            secretNames: args.secrets.map((entry) => entry.name),
            secretName,
            serviceAccountName: name,
            mountServiceAccountToken: usesAws,
            metricsPort: args.metrics?.port,
          }),
        },
      },
    },
    // Pods that start before their Secret exists sit in CreateContainerConfigError.
    {
      ...inNamespace,
      dependsOn: [...inNamespace.dependsOn, ...(secret ? [secret] : []), ...(identity ? [identity] : [])],
    },
  );
  new k8s.core.v1.Service(
    `${name}-service`,
    {
      metadata,
      spec: {
        type: 'ClusterIP',
        // Headless for a server behind the gateway: DNS answers one A record per ready pod, each an
        // instance the gateway pins sessions to; a virtual IP would hide them behind kube-proxy's
        // round robin ("Headless Services", Kubernetes docs).
        ...(args.gatewayPods ? { clusterIP: 'None' } : {}),
        selector: labels,
        ports: [{ name: 'http', port: server.port, targetPort: 'http' }],
      },
    },
    inNamespace,
  );
  if (autoscaled) {
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-hpa`,
      {
        metadata,
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
          minReplicas: server.autoscaling.min,
          maxReplicas: server.autoscaling.max,
          metrics: [
            {
              type: 'Resource',
              resource: {
                name: 'cpu',
                target: { type: 'Utilization', averageUtilization: server.autoscaling.cpuTarget },
              },
            },
          ],
          // Each removed pod ends its SSE streams; scale in slowly.
          behavior: {
            scaleDown: {
              stabilizationWindowSeconds: 300,
              policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
            },
          },
        },
      },
      inNamespace,
    );
  }
  new k8s.policy.v1.PodDisruptionBudget(
    `${name}-pdb`,
    { metadata, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
    inNamespace,
  );
  if (isPublic(server)) {
    new k8s.networking.v1.Ingress(
      `${name}-ingress`,
      ingressSpec({
        name,
        namespace: namespaceName,
        labels,
        server,
        controller: args.ingressController,
        tls: args.tls,
      }),
      inNamespace,
    );
  }
  new k8s.networking.v1.NetworkPolicy(
    `${name}-netpol`,
    {
      metadata,
      spec: networkPolicySpec({
        podLabels: labels,
        port: server.port,
        // A server behind the gateway admits the app's pods only; a public one, the ingress controller.
        clients: args.gatewayPods ?? { namespace: args.controllerNamespace },
        upstreams: args.upstreams ?? [],
        metrics: args.metrics,
        vpcCidr: args.vpcCidr,
        redis: server.redis,
        podIdentity: identity !== undefined,
      }),
    },
    inNamespace,
  );
  if (args.metrics?.podMonitor) {
    // Scraped by a prometheus-operator Prometheus whose podMonitorSelector matches these labels
    // ("PodMonitor", prometheus-operator API reference); the CRD must be installed already.
    new k8s.apiextensions.CustomResource(
      `${name}-podmonitor`,
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata,
        spec: {
          selector: { matchLabels: labels },
          podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
        },
      },
      inNamespace,
    );
  }
}
