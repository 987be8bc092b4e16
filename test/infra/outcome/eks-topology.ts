import { INTERNET_CLIENT, redisPrimary } from './ecs-topology.js';
import {
  CONTROLLER_PORTS,
  controllerPodLabels,
  controllerRelease,
  NLB_BACKEND_GROUP,
  NLB_FRONTEND_GROUP,
  type Nlb,
  nlbOf,
} from './eks-edge.js';
import { addon, policiesEnforced } from './eks-enforcement.js';
import { type Resource, type ResourceGraph, T } from './graph.js';
import type { Labels } from './network-policy.js';
import { policiesOf } from './network-policy.js';
import type { Endpoint, NetworkModel } from './reachability.js';
import { addressInSubnet, isPublicSubnet } from './routing.js';
import type { ExternalGroup, SgRule } from './security-groups.js';

/**
 * The EKS platform as the network sees it. Nodes and pods share the cluster security group that EKS
 * creates, "Inbound All from Self; Outbound All to 0.0.0.0/0"
 * (https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html); with the VPC CNI every pod
 * has a VPC address and the security groups of its node. Pods sit on node 0; kube-dns and the
 * monitoring pod on node 1, so pod-to-pod paths cross the network.
 */

/** The labels a Prometheus runs under (kube-prometheus-stack's convention), in the stack's monitoring namespace. */
export const PROMETHEUS_LABELS = { 'app.kubernetes.io/name': 'prometheus' };
/** "The agent uses the loopback (localhost) IP address 169.254.170.23 for IPv4" on port 80 (EKS pod-id-agent-setup). */
export const POD_IDENTITY_AGENT = { ip: '169.254.170.23', port: 80 };

export interface EksServer {
  name: string;
  deployment: Resource;
  // biome-ignore lint/suspicious/noExplicitAny: pod containers as registered.
  containers: any[];
  pod: Endpoint;
}

export interface EksTopology {
  model: NetworkModel;
  region: string;
  autoMode: boolean;
  internet: Endpoint;
  nodes: Endpoint[];
  /** The NLB in front of the ingress controller, if a LoadBalancer Service asks for one. */
  nlb?: Nlb & { publicSubnet: boolean; endpoint: Endpoint };
  controllerPod?: Endpoint;
  ingressClass?: string;
  kubeDns?: Endpoint;
  podIdentityAgent?: Endpoint;
  monitoring: Endpoint;
  redis?: { endpoint: Endpoint; port: number };
  servers: Map<string, EksServer>;
  aws(service: string): Endpoint;
}

function namespaceLabels(graph: ResourceGraph, namespace: string): Labels {
  const declared = graph.ofType(T.namespace).find((resource) => resource.inputs.metadata?.name === namespace);
  // The API server sets kubernetes.io/metadata.name on every namespace (Kubernetes ≥ 1.21).
  return { ...(declared?.inputs.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': namespace };
}

function pod(
  graph: ResourceGraph,
  name: string,
  node: Endpoint,
  host: number,
  namespace: string,
  labels: Labels,
  namedPorts?: Record<string, number>,
): Endpoint {
  const eni = node.eni as NonNullable<Endpoint['eni']>;
  return {
    name,
    eni: { ...eni, ip: addressInSubnet(graph, eni.subnetId, host) },
    pod: {
      namespace,
      labels,
      namespaceLabels: namespaceLabels(graph, namespace),
      namedPorts,
      node: node.name,
    },
  };
}

export interface EksTopologyOptions {
  /** The namespace whose pods scrape metrics (the stack's `metrics.scrapeNamespace`). */
  monitoringNamespace: string;
}

export function eksTopology(graph: ResourceGraph, region: string, options: EksTopologyOptions): EksTopology {
  const cluster = graph.ofType(T.eksCluster)[0];
  if (!cluster) throw new Error('no EKS cluster in the graph');
  const autoMode = cluster.inputs.computeConfig?.enabled === true;
  const clusterGroup = cluster.state.vpcConfig?.clusterSecurityGroupId as string;
  const nodeSubnets: string[] =
    graph.ofType(T.nodeGroup)[0]?.inputs.subnetIds ?? cluster.inputs.vpcConfig.subnetIds;
  const nodes = [0, 1].map((index) => {
    const subnetId = nodeSubnets[index % nodeSubnets.length] as string;
    return {
      name: `node ${index}`,
      host: { node: `node ${index}` },
      eni: {
        subnetId,
        ip: addressInSubnet(graph, subnetId, 40 + index),
        securityGroupIds: [clusterGroup],
        publicIp: false,
      },
    } satisfies Endpoint;
  });
  const [node0, node1] = nodes as [Endpoint, Endpoint];

  const release = controllerRelease(graph);
  const edge = nlbOf(graph, autoMode);
  // Load balancers go to subnets tagged kubernetes.io/role/elb (EKS "subnet requirements").
  const elbSubnet = graph
    .ofType(T.subnet)
    .find((subnet) => subnet.inputs.tags?.['kubernetes.io/role/elb'] === '1');
  const nlb: EksTopology['nlb'] =
    edge && elbSubnet
      ? {
          ...edge,
          publicSubnet: isPublicSubnet(graph, elbSubnet.id),
          endpoint: {
            name: 'the NLB',
            eni: {
              subnetId: elbSubnet.id,
              ip: addressInSubnet(graph, elbSubnet.id, 60),
              securityGroupIds: edge.securityGroupIds,
              publicIp: edge.internetFacing,
              // Without security groups "all traffic can leave" it (ELB docs, NLB security groups).
              unfiltered: edge.securityGroupIds.length === 0,
            },
          },
        }
      : undefined;
  const extraRules: SgRule[] = (edge?.rules ?? [])
    .filter((entry) => entry.group === 'nodes')
    .map((entry) => entry.rule);
  if (edge && edge.securityGroupIds.length > 0) {
    // The LBC admits its backend group on the target ports in the targets' (the pods', so the
    // cluster's) security group.
    for (const listener of edge.listeners) {
      const port =
        typeof listener.targetPort === 'number' ? listener.targetPort : CONTROLLER_PORTS[listener.targetPort];
      if (port === undefined) continue;
      extraRules.push({
        direction: 'ingress',
        protocol: 'tcp',
        fromPort: port,
        toPort: port,
        securityGroupId: NLB_BACKEND_GROUP,
        origin: `the rule the ${edge.provisioner} adds for its backend security group`,
      });
    }
  }
  const selfRule = (direction: SgRule['direction']): SgRule => ({
    direction,
    protocol: '-1',
    fromPort: 0,
    toPort: 65535,
    securityGroupId: clusterGroup,
    origin: 'EKS cluster security group (self)',
  });
  const externalGroups: ExternalGroup[] = [
    {
      id: clusterGroup,
      name: 'EKS cluster security group',
      rules: [
        selfRule('ingress'),
        selfRule('egress'),
        {
          direction: 'egress',
          protocol: '-1',
          fromPort: 0,
          toPort: 65535,
          cidr: '0.0.0.0/0',
          origin: 'EKS cluster security group (all out)',
        },
        ...extraRules,
      ],
    },
    {
      id: NLB_FRONTEND_GROUP,
      name: 'NLB frontend security group',
      rules: [
        ...(edge?.rules ?? [])
          .filter((entry) => entry.group === NLB_FRONTEND_GROUP)
          .map((entry) => entry.rule),
        {
          direction: 'egress',
          protocol: '-1',
          fromPort: 0,
          toPort: 65535,
          cidr: '0.0.0.0/0',
          origin: 'NLB frontend (all out)',
        },
      ],
    },
    {
      id: NLB_BACKEND_GROUP,
      name: 'NLB backend security group',
      rules: [
        {
          direction: 'egress',
          protocol: '-1',
          fromPort: 0,
          toPort: 65535,
          cidr: '0.0.0.0/0',
          origin: 'NLB backend (all out)',
        },
      ],
    },
  ];
  const model: NetworkModel = {
    graph,
    externalGroups,
    policies: policiesOf(graph),
    policiesEnforced: policiesEnforced(graph, autoMode),
  };

  const servers = new Map<string, EksServer>();
  graph.ofType(T.deployment).forEach((deployment, index) => {
    const namespace = deployment.inputs.metadata?.namespace ?? 'default';
    const template = deployment.inputs.spec?.template ?? {};
    const containers = template.spec?.containers ?? [];
    const namedPorts = Object.fromEntries(
      containers.flatMap((container: { ports?: { name?: string; containerPort: number }[] }) =>
        (container.ports ?? []).filter((port) => port.name).map((port) => [port.name, port.containerPort]),
      ),
    );
    const name = deployment.inputs.metadata?.name ?? deployment.name;
    servers.set(name, {
      name,
      deployment,
      containers,
      pod: pod(
        graph,
        `a pod of ${name}`,
        node0,
        100 + index,
        namespace,
        template.metadata?.labels ?? {},
        namedPorts,
      ),
    });
  });

  const controllerNamespace: string | undefined = release?.inputs.namespace;
  const hasDns = autoMode || addon(graph, 'coredns') !== undefined;
  const hasAgent = autoMode || addon(graph, 'eks-pod-identity-agent') !== undefined;
  return {
    model,
    region,
    autoMode,
    internet: INTERNET_CLIENT,
    nodes,
    nlb,
    controllerPod:
      release && controllerNamespace
        ? pod(
            graph,
            'an ingress controller pod',
            node1,
            60,
            controllerNamespace,
            controllerPodLabels(release),
            CONTROLLER_PORTS,
          )
        : undefined,
    ingressClass:
      release?.inputs.values?.controller?.ingressClass?.name ??
      release?.inputs.values?.controller?.ingressClassResource?.name,
    // CoreDNS runs in kube-system under the label k8s-app=kube-dns (https://kubernetes.io/docs/tasks/administer-cluster/dns-custom-nameservers/).
    kubeDns: hasDns
      ? pod(graph, 'kube-dns (CoreDNS)', node1, 53, 'kube-system', { 'k8s-app': 'kube-dns' })
      : undefined,
    podIdentityAgent: hasAgent
      ? { name: 'the Pod Identity agent', nodeLocal: { ip: POD_IDENTITY_AGENT.ip, node: node0.name } }
      : undefined,
    monitoring: pod(graph, 'a Prometheus pod', node1, 70, options.monitoringNamespace, PROMETHEUS_LABELS),
    redis: redisPrimary(graph),
    servers,
    aws: (serviceName) => ({ name: `AWS ${serviceName}`, awsService: { service: serviceName, region } }),
  };
}
