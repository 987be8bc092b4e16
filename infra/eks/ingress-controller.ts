import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { INGRESS_CHARTS } from '../config.js';
import { type IngressController as Controller, INGRESS_CLASS } from '../k8s/sse.js';

export interface IngressControllerArgs {
  /** Which nginx: F5's maintained controller (default) or the retired community one. */
  controller: Controller;
  /** Overrides the pinned chart version. */
  chartVersion?: string;
  /** ACM certificate: the NLB terminates TLS on 443 and forwards plain HTTP to nginx. */
  certificateArn?: pulumi.Input<string>;
  /** Auto Mode provisions NLBs itself, through its own load balancer class. */
  autoMode: boolean;
  provider: k8s.Provider;
  dependsOn: pulumi.Resource[];
}

/** Namespace per controller; NetworkPolicies admit traffic from exactly this namespace. */
export const CONTROLLER_NAMESPACE: Record<Controller, string> = {
  'f5-nginx': 'nginx-ingress',
  'ingress-nginx': 'ingress-nginx',
};
/** Both charts are installed with a fixed full name, so the controller Service's name is known. */
const SERVICE_NAME: Record<Controller, string> = {
  'f5-nginx': 'nginx-ingress-controller',
  'ingress-nginx': 'ingress-nginx-controller',
};

/** Annotations for the controller's Service: an internet-facing NLB, optionally terminating TLS. */
export function loadBalancerAnnotations(
  certificateArn: pulumi.Input<string> | undefined,
  autoMode: boolean,
): Record<string, pulumi.Input<string>> {
  return {
    ...(autoMode ? {} : { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' }),
    'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    'service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled': 'true',
    ...(certificateArn
      ? {
          'service.beta.kubernetes.io/aws-load-balancer-ssl-cert': certificateArn,
          'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': '443',
          'service.beta.kubernetes.io/aws-load-balancer-backend-protocol': 'tcp',
        }
      : {}),
  };
}

/** Helm values for each chart; the two charts spell the same settings differently. */
export function controllerValues(
  args: Pick<IngressControllerArgs, 'controller' | 'certificateArn' | 'autoMode'>,
) {
  const service = {
    type: 'LoadBalancer',
    annotations: loadBalancerAnnotations(args.certificateArn, args.autoMode),
    ...(args.autoMode ? { loadBalancerClass: 'eks.amazonaws.com/nlb' } : {}),
  };
  const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } };
  if (args.controller === 'f5-nginx') {
    return {
      fullnameOverride: 'nginx-ingress',
      controller: {
        replicaCount: 2,
        ingressClass: { name: INGRESS_CLASS, create: true, setAsDefaultIngress: false },
        // With TLS at the NLB, 443 carries plain HTTP to nginx's http port.
        service: { ...service, ...(args.certificateArn ? { httpsPort: { targetPort: 80 } } : {}) },
        resources,
        podDisruptionBudget: { enabled: true, minAvailable: 1 },
      },
    };
  }
  return {
    fullnameOverride: 'ingress-nginx',
    controller: {
      replicaCount: 2,
      ingressClassResource: { name: INGRESS_CLASS, default: false },
      service: { ...service, ...(args.certificateArn ? { targetPorts: { https: 'http' } } : {}) },
      resources,
      minAvailable: 1,
    },
  };
}

/** The nginx controller behind an NLB, installed with helm.v3.Release (a resource tests can see). */
export class IngressController extends pulumi.ComponentResource {
  readonly namespace: string;
  /** The NLB hostname users point DNS at. */
  readonly hostname: pulumi.Output<string>;

  constructor(name: string, args: IngressControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:eks:IngressController', name, {}, opts);
    this.namespace = CONTROLLER_NAMESPACE[args.controller];
    const chart = INGRESS_CHARTS[args.controller];
    const release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: args.controller === 'f5-nginx' ? 'nginx-ingress' : 'ingress-nginx',
        chart: chart.chart,
        version: args.chartVersion ?? chart.version,
        ...('repo' in chart ? { repositoryOpts: { repo: chart.repo } } : {}),
        namespace: this.namespace,
        createNamespace: true,
        atomic: true,
        timeout: 600,
        values: controllerValues(args),
      },
      { parent: this, provider: args.provider, dependsOn: args.dependsOn },
    );
    const service = k8s.core.v1.Service.get(
      `${name}-service`,
      `${this.namespace}/${SERVICE_NAME[args.controller]}`,
      { parent: this, provider: args.provider, dependsOn: [release] },
    );
    this.hostname = service.status.loadBalancer.ingress.apply(
      (ingress) => ingress?.[0]?.hostname ?? ingress?.[0]?.ip ?? '',
    );
    this.registerOutputs({ hostname: this.hostname });
  }
}
