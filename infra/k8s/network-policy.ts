import type * as k8s from '@pulumi/kubernetes';

/** Pods of one namespace, all of them or those with `podLabels`. */
export interface PeerPods {
  namespace: string;
  podLabels?: Record<string, string>;
}

export interface NetworkPolicyArgs {
  /** Pods the policy applies to. */
  podLabels: Record<string, string>;
  /** The server's container port. */
  port: number;
  /**
   * Who may connect to `port`: the ingress controller's namespace (a public server), or the app's
   * pods (a server behind the app's gateway).
   */
  clients: PeerPods;
  /** The servers behind this app's gateway: their pods on their port (egress). */
  upstreams: (PeerPods & { port: number })[];
  /** METRICS_PORT and the namespace whose pods may scrape it, when the server serves one. */
  metrics?: { port: number; namespace: string };
  /** The VPC CIDR: ElastiCache lives there, at addresses that change on failover. */
  vpcCidr: string;
  /** Whether the server talks to Redis. */
  redis: boolean;
  /** Whether the server gets AWS credentials from the Pod Identity agent. */
  podIdentity: boolean;
}

/**
 * The EKS Pod Identity agent: "The agent uses the loopback (localhost) IP address 169.254.170.23 for
 * IPv4 and the localhost IP address [fd00:ec2::23] for IPv6", port 80, on the node's host network
 * ("Set up the Amazon EKS Pod Identity Agent", EKS user guide). A pod's egress policy must let it out
 * there, or the SDK gets no credentials (finding 8; the same failure: cilium/cilium#34387).
 */
export const POD_IDENTITY_AGENT = { ipv4: '169.254.170.23/32', ipv6: 'fd00:ec2::23/128', port: 80 };

const namespaceSelector = (name: string) => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
});

/** A peer: every pod of a namespace, or, with labels, only those (both selectors in one peer: AND). */
const peer = (pods: PeerPods) => ({
  ...namespaceSelector(pods.namespace),
  ...(pods.podLabels ? { podSelector: { matchLabels: pods.podLabels } } : {}),
});

/**
 * Ingress only from the ingress controller or, behind the gateway, the app's pods (traffic port) and
 * the monitoring namespace (metrics port); egress only to cluster DNS, the servers behind the app's
 * gateway (the app), Redis (when used), the Pod Identity agent (when used) and HTTPS. Anything else a
 * compromised server tries is dropped.
 */
export function networkPolicySpec(args: NetworkPolicyArgs): k8s.types.input.networking.v1.NetworkPolicySpec {
  return {
    podSelector: { matchLabels: args.podLabels },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      { from: [peer(args.clients)], ports: [{ protocol: 'TCP', port: args.port }] },
      ...(args.metrics
        ? [
            {
              from: [namespaceSelector(args.metrics.namespace)],
              ports: [{ protocol: 'TCP', port: args.metrics.port }],
            },
          ]
        : []),
    ],
    egress: [
      {
        to: [
          {
            ...namespaceSelector('kube-system'),
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      ...args.upstreams.map((upstream) => ({
        to: [peer(upstream)],
        ports: [{ protocol: 'TCP', port: upstream.port }],
      })),
      ...(args.redis
        ? [{ to: [{ ipBlock: { cidr: args.vpcCidr } }], ports: [{ protocol: 'TCP', port: 6379 }] }]
        : []),
      ...(args.podIdentity
        ? [
            {
              to: [
                { ipBlock: { cidr: POD_IDENTITY_AGENT.ipv4 } },
                { ipBlock: { cidr: POD_IDENTITY_AGENT.ipv6 } },
              ],
              ports: [{ protocol: 'TCP', port: POD_IDENTITY_AGENT.port }],
            },
          ]
        : []),
      { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ],
  };
}
