import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { ServerConfig } from '../config.js';
import { type SecretEnv, secretDependencies, secretsRevision } from '../foundation/secrets.js';
import { nameFor } from '../shared/names.js';
import { ingressPath } from './ingress-path.js';
import { networkPolicySpec } from './network-policy.js';
import { podSpec } from './pod.js';
import { INGRESS_CLASS, type IngressController, SSE_ANNOTATIONS, SSE_MARKER_ANNOTATION } from './sse.js';

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
  /** The controller's namespace, the only one NetworkPolicy admits. */
  controllerNamespace: string;
  /** The VPC CIDR (Redis egress). */
  vpcCidr: string;
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
    this.namespace = `mcp-${name}`;
    this.serviceName = name;
    buildWorkload(this, name, this.namespace, args);
    this.registerOutputs({ namespace: this.namespace });
  }
}

function buildWorkload(parent: pulumi.Resource, name: string, namespaceName: string, args: McpWorkloadArgs) {
  const { server } = args;
  const opts = { parent, provider: args.provider, dependsOn: args.dependsOn };
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mcp-fleet' };
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
  if (usesAws && args.clusterName) podIdentity(parent, name, namespaceName, args);

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
          metadata: {
            labels,
            ...(secret
              ? { annotations: { [SECRETS_REVISION_ANNOTATION]: secretsRevision(args.secrets) } }
              : {}),
          },
          spec: podSpec({
            name,
            server,
            image: args.image,
            labels,
            env: args.env,
            secretNames: args.secrets.map((secret) => secret.name),
            secretName,
            serviceAccountName: name,
            mountServiceAccountToken: usesAws,
          }),
        },
      },
    },
    // Pods that start before their Secret exists sit in CreateContainerConfigError.
    { ...inNamespace, dependsOn: [...inNamespace.dependsOn, ...(secret ? [secret] : [])] },
  );
  new k8s.core.v1.Service(
    `${name}-service`,
    {
      metadata,
      spec: {
        type: 'ClusterIP',
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
  const route = ingressPath(args.ingressController, server, name);
  new k8s.networking.v1.Ingress(
    `${name}-ingress`,
    {
      metadata: {
        ...metadata,
        annotations: {
          // The marker tells the policy pack this Ingress streams, whichever controller's annotations follow.
          ...(server.ingress.sse
            ? { [SSE_MARKER_ANNOTATION]: 'true', ...SSE_ANNOTATIONS[args.ingressController] }
            : {}),
          ...route.annotations,
        },
      },
      spec: {
        ingressClassName: INGRESS_CLASS,
        ...(server.ingress.tlsSecretName && server.ingress.host
          ? { tls: [{ hosts: [server.ingress.host], secretName: server.ingress.tlsSecretName }] }
          : {}),
        rules: [
          {
            ...(server.ingress.host ? { host: server.ingress.host } : {}),
            http: {
              paths: [
                {
                  path: route.path,
                  pathType: route.pathType,
                  backend: { service: { name, port: { name: 'http' } } },
                },
              ],
            },
          },
        ],
      },
    },
    inNamespace,
  );
  new k8s.networking.v1.NetworkPolicy(
    `${name}-netpol`,
    {
      metadata,
      spec: networkPolicySpec({
        podLabels: labels,
        port: server.port,
        controllerNamespace: args.controllerNamespace,
        vpcCidr: args.vpcCidr,
        redis: server.redis,
      }),
    },
    inNamespace,
  );
}

/** An IAM role the server's service account assumes through EKS Pod Identity. */
function podIdentity(parent: pulumi.Resource, name: string, namespace: string, args: McpWorkloadArgs) {
  const role = new aws.iam.Role(
    `${name}-pod-role`,
    {
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'pods.eks.amazonaws.com' },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
          },
        ],
      }),
      tags: args.tags,
    },
    { parent },
  );
  for (const policyArn of new Set(args.server.awsPolicyArns)) {
    new aws.iam.RolePolicyAttachment(
      `${name}-pod-role-${nameFor(policyArn)}`,
      { role: role.name, policyArn },
      { parent },
    );
  }
  new aws.eks.PodIdentityAssociation(
    `${name}-pod-identity`,
    {
      clusterName: args.clusterName as pulumi.Input<string>,
      namespace,
      serviceAccount: name,
      roleArn: role.arn,
      tags: args.tags,
    },
    { parent },
  );
}
