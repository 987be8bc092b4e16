import type * as k8s from '@pulumi/kubernetes';

export interface NetworkPolicyArgs {
  /** Pods the policy applies to. */
  podLabels: Record<string, string>;
  /** The server's container port. */
  port: number;
  /** Only the ingress controller's namespace may connect. */
  controllerNamespace: string;
  /** The VPC CIDR: ElastiCache lives there, at addresses that change on failover. */
  vpcCidr: string;
  /** Whether the server talks to Redis. */
  redis: boolean;
}

/**
 * Ingress only from the ingress controller; egress only to cluster DNS, Redis (when used) and
 * HTTPS. Anything else a compromised server tries is dropped.
 */
export function networkPolicySpec(args: NetworkPolicyArgs): k8s.types.input.networking.v1.NetworkPolicySpec {
  return {
    podSelector: { matchLabels: args.podLabels },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      {
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': args.controllerNamespace } } },
        ],
        ports: [{ protocol: 'TCP', port: args.port }],
      },
    ],
    egress: [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      ...(args.redis
        ? [{ to: [{ ipBlock: { cidr: args.vpcCidr } }], ports: [{ protocol: 'TCP', port: 6379 }] }]
        : []),
      { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ],
  };
}
