import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { PLATFORM_CHARTS } from '../config/eks.js';
import { type PodDemand, podResources } from './capacity.js';
import { installPlatformRelease, type PlatformTarget } from './platform-release.js';

/**
 * TLS ends in nginx, not at the NLB: a TLS listener's idle timeout is "350 seconds and can't be
 * modified", a TCP listener's can be raised to 6000 s ("Update the TCP idle timeout", ELB docs), and
 * idle SSE streams of servers without heartbeats must outlive 350 s. ACM certificates cannot be
 * installed in nginx, so cert-manager obtains one from Let's Encrypt for `<domain>` and
 * `*.<domain>`, proving control with a DNS-01 record in the stack's Route 53 zone ("Route53",
 * cert-manager docs), and renews it. Its pods reach Route 53 with Pod Identity credentials, which
 * the SDK's default chain picks up ("ambient credentials", on by default for ClusterIssuers).
 */

const NAMESPACE = 'cert-manager';
const SERVICE_ACCOUNT = 'cert-manager';
const ISSUER = 'mcp-fleet-letsencrypt';
/** Let's Encrypt's production ACME directory. */
export const ACME_SERVER = 'https://acme-v02.api.letsencrypt.org/directory';
/** The Secret (in the ingress namespace) both nginx controllers serve for every host of the domain. */
export const TLS_SECRET = 'mcp-fleet-tls';
/** cert-manager's controller, webhook and cainjector, counted in the capacity check. */
export const CERT_MANAGER_PODS: PodDemand = {
  name: 'cert-manager',
  replicas: 3,
  cpuMilli: 50,
  memoryMiB: 128,
};

/** DNS-01 in one hosted zone: the "Route53" page's policy, limited to the stack's zone. */
export function route53Policy(zoneId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'route53:GetChange', Resource: 'arn:aws:route53:::change/*' },
      {
        Effect: 'Allow',
        Action: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets'],
        Resource: `arn:aws:route53:::hostedzone/${zoneId}`,
      },
      { Effect: 'Allow', Action: 'route53:ListHostedZonesByName', Resource: '*' },
    ],
  });
}

export interface CertificatesArgs extends PlatformTarget {
  domain: string;
  zoneId: pulumi.Input<string>;
  /** Where the certificate's Secret goes: the ingress controller's namespace. */
  namespace: k8s.core.v1.Namespace;
}

/** cert-manager, a ClusterIssuer for the zone, and the wildcard certificate; returns the Certificate. */
export function issueCertificate(
  parent: pulumi.Resource,
  name: string,
  args: CertificatesArgs,
): k8s.apiextensions.CustomResource {
  const opts = { parent, provider: args.provider };
  const resources = podResources(CERT_MANAGER_PODS);
  const release = installPlatformRelease(parent, name, {
    component: 'cert-manager',
    releaseName: 'cert-manager',
    chart: PLATFORM_CHARTS.certManager,
    namespace: NAMESPACE,
    createNamespace: true,
    serviceAccount: SERVICE_ACCOUNT,
    inlinePolicy: pulumi.output(args.zoneId).apply(route53Policy),
    clusterName: args.clusterName,
    values: {
      crds: { enabled: true, keep: true },
      serviceAccount: { create: true, name: SERVICE_ACCOUNT },
      resources,
      webhook: { resources },
      cainjector: { resources },
    },
    provider: args.provider,
    dependsOn: args.dependsOn,
    tags: args.tags,
  });
  const issuer = new k8s.apiextensions.CustomResource(
    `${name}-issuer`,
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: ISSUER },
      spec: {
        acme: {
          server: ACME_SERVER,
          privateKeySecretRef: { name: `${ISSUER}-account` },
          solvers: [
            {
              selector: { dnsZones: [args.domain] },
              dns01: { route53: { region: args.region, hostedZoneID: args.zoneId } },
            },
          ],
        },
      },
    },
    { ...opts, dependsOn: [release] },
  );
  return new k8s.apiextensions.CustomResource(
    `${name}-certificate`,
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: TLS_SECRET, namespace: args.namespace.metadata.name },
      spec: {
        secretName: TLS_SECRET,
        dnsNames: [args.domain, `*.${args.domain}`],
        issuerRef: { kind: 'ClusterIssuer', name: ISSUER },
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      },
    },
    { ...opts, dependsOn: [issuer, args.namespace] },
  );
}
