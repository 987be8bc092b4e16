import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { INGRESS_CHARTS, type IngressConfig } from '../config/eks.js';
import { type IngressController as Controller, INGRESS_BODY_LIMIT, INGRESS_CLASS } from '../k8s/sse.js';
import { type PodDemand, podResources } from './capacity.js';
import { LBC_LOAD_BALANCER_CLASS } from './load-balancer-controller.js';

/**
 * The nginx in front of every server, behind an NLB the load balancer controller manages.
 *
 * - The Service that asks for the NLB is the program's own, not the chart's: a controller switch
 *   (a new release) keeps it, and so the NLB, its hostname and every DNS record; its hostname comes
 *   from the Service's status, with no read of an object that may not exist yet.
 * - The NLB listens on TCP and sends connections to the controller pods' IPs, keeping the client's
 *   address (finding 19: per-IP limits count clients, not nodes). TLS ends in nginx, so the idle
 *   timeout can be raised (see certificates.ts).
 * - Both controllers live in one namespace, each with its own release and IngressClass, so the
 *   documented switch installs the new one next to the old one, moves the Ingresses and the Service,
 *   then removes the old one, with no object claimed by two releases.
 */

/** The namespace of whichever controller runs; the servers' NetworkPolicies admit it. */
export const INGRESS_NAMESPACE = 'ingress';
/** The Service behind the NLB. */
export const EDGE_SERVICE = 'mcp-fleet-edge';

const RELEASE: Record<Controller, string> = { 'f5-nginx': 'nginx-ingress', 'ingress-nginx': 'ingress-nginx' };

/** The controller pods' labels, which the edge Service selects (each chart's selectorLabels helper). */
export const CONTROLLER_SELECTOR: Record<Controller, Record<string, string>> = {
  'f5-nginx': { 'app.kubernetes.io/name': 'nginx-ingress', 'app.kubernetes.io/instance': 'nginx-ingress' },
  'ingress-nginx': {
    'app.kubernetes.io/name': 'ingress-nginx',
    'app.kubernetes.io/instance': 'ingress-nginx',
    'app.kubernetes.io/component': 'controller',
  },
};

/** Seconds a stopping controller pod keeps accepting while the NLB deregisters it. */
export const CONTROLLER_PRESTOP_SECONDS = 15;

export interface IngressControllerArgs {
  controller: Controller;
  ingress: IngressConfig;
  /** With a domain, the Secret (in INGRESS_NAMESPACE) nginx serves for every host. */
  tlsSecret?: string;
  /** Auto Mode provisions the NLB with its own controller and class. */
  autoMode: boolean;
  namespace: k8s.core.v1.Namespace;
  provider: k8s.Provider;
  dependsOn: pulumi.Resource[];
}

/** What a stream sees when a controller pod stops: the bounds the program sets, in seconds. */
export function controllerTimings(ingress: IngressConfig) {
  const workerShutdown = ingress.workerShutdownTimeoutSeconds;
  return {
    preStop: CONTROLLER_PRESTOP_SECONDS,
    workerShutdown,
    // The kubelet's SIGKILL must come after nginx has let its old workers go.
    terminationGrace: CONTROLLER_PRESTOP_SECONDS + workerShutdown + 15,
    // The NLB keeps forwarding a deregistered target's connections this long ("Deregistration
    // delay", NLB target groups): as long as nginx still serves them.
    deregistrationDelay: CONTROLLER_PRESTOP_SECONDS + workerShutdown + 5,
  };
}

/** The controller pods, counted in the capacity check. */
export function controllerPods(ingress: IngressConfig): PodDemand {
  return { name: 'ingress controller', replicas: 2, cpuMilli: 100, memoryMiB: ingress.memoryMiB };
}

/** The annotations of the edge Service: read by the load balancer controller ("Service annotations", LBC docs). */
export function edgeAnnotations(args: Pick<IngressControllerArgs, 'ingress' | 'tlsSecret'>) {
  const timings = controllerTimings(args.ingress);
  const idle = `tcp.idle_timeout.seconds=${args.ingress.idleTimeoutSeconds}`;
  return {
    'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
    'service.beta.kubernetes.io/aws-load-balancer-attributes': 'load_balancing.cross_zone.enabled=true',
    'service.beta.kubernetes.io/aws-load-balancer-target-group-attributes': `preserve_client_ip.enabled=true,deregistration_delay.timeout_seconds=${timings.deregistrationDelay}`,
    'service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-80': idle,
    ...(args.tlsSecret
      ? { 'service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-443': idle }
      : {}),
  };
}

/** Helm values for each chart; the two charts spell the same settings differently. */
export function controllerValues(args: Pick<IngressControllerArgs, 'controller' | 'ingress' | 'tlsSecret'>) {
  const timings = controllerTimings(args.ingress);
  const pods = controllerPods(args.ingress);
  const resources = podResources(pods);
  const lifecycle = { preStop: { sleep: { seconds: timings.preStop } } };
  const tls = args.tlsSecret ? `${INGRESS_NAMESPACE}/${args.tlsSecret}` : undefined;
  const edge = `${INGRESS_NAMESPACE}/${EDGE_SERVICE}`;
  if (args.controller === 'f5-nginx') {
    return {
      fullnameOverride: 'nginx-ingress',
      controller: {
        replicaCount: pods.replicas,
        selectorLabels: CONTROLLER_SELECTOR['f5-nginx'],
        ingressClass: { name: INGRESS_CLASS['f5-nginx'], create: true, setAsDefaultIngress: false },
        service: { create: false },
        reportIngressStatus: { enable: true, externalService: EDGE_SERVICE },
        config: {
          entries: {
            'worker-shutdown-timeout': `${timings.workerShutdown}s`,
            'client-max-body-size': INGRESS_BODY_LIMIT,
          },
        },
        ...(tls ? { defaultTLS: { secret: tls }, wildcardTLS: { secret: tls } } : {}),
        resources,
        lifecycle,
        terminationGracePeriodSeconds: timings.terminationGrace,
        podDisruptionBudget: { enabled: true, minAvailable: 1 },
      },
    };
  }
  return {
    fullnameOverride: 'ingress-nginx',
    controller: {
      replicaCount: pods.replicas,
      ingressClass: INGRESS_CLASS['ingress-nginx'],
      ingressClassResource: {
        name: INGRESS_CLASS['ingress-nginx'],
        enabled: true,
        default: false,
        controllerValue: 'k8s.io/ingress-nginx',
      },
      service: { enabled: false },
      publishService: { enabled: false },
      extraArgs: { 'publish-service': edge, ...(tls ? { 'default-ssl-certificate': tls } : {}) },
      config: {
        'worker-shutdown-timeout': `${timings.workerShutdown}s`,
        'proxy-body-size': INGRESS_BODY_LIMIT,
      },
      resources,
      lifecycle,
      terminationGracePeriodSeconds: timings.terminationGrace,
      minAvailable: 1,
    },
  };
}

/** The nginx controller (helm.v3.Release, a resource tests can see) and the Service behind the NLB. */
export class IngressController extends pulumi.ComponentResource {
  readonly namespace = INGRESS_NAMESPACE;
  /** The NLB hostname users point DNS at. */
  readonly hostname: pulumi.Output<string>;

  constructor(name: string, args: IngressControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:eks:IngressController', name, {}, opts);
    const chart = INGRESS_CHARTS[args.controller];
    const inCluster = { parent: this, provider: args.provider };
    // A new controller is a new release (another name): created before the old one is deleted, which
    // works because no object of one chart is claimed by the other.
    const release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: RELEASE[args.controller],
        chart: chart.chart,
        version: args.ingress.chartVersion ?? chart.version,
        ...('repo' in chart ? { repositoryOpts: { repo: chart.repo } } : {}),
        namespace: INGRESS_NAMESPACE,
        atomic: true,
        timeout: 600,
        values: controllerValues(args),
      },
      { ...inCluster, dependsOn: [args.namespace, ...args.dependsOn] },
    );
    const ports = [
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
      ...(args.tlsSecret ? [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }] : []),
    ];
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: EDGE_SERVICE, namespace: INGRESS_NAMESPACE, annotations: edgeAnnotations(args) },
        spec: {
          type: 'LoadBalancer',
          // Auto Mode's built-in controller answers eks.amazonaws.com/nlb ("Use Service Annotations to
          // configure Network Load Balancers", EKS user guide); the installed one service.k8s.aws/nlb.
          loadBalancerClass: args.autoMode ? 'eks.amazonaws.com/nlb' : LBC_LOAD_BALANCER_CLASS,
          selector: CONTROLLER_SELECTOR[args.controller],
          ports,
        },
      },
      // The controller that provisions the NLB must run before the Service asks for one.
      { ...inCluster, dependsOn: [args.namespace, release, ...args.dependsOn] },
    );
    this.hostname = service.status.loadBalancer.ingress.apply(
      (ingress) => ingress?.[0]?.hostname ?? ingress?.[0]?.ip ?? '',
    );
    this.registerOutputs({ hostname: this.hostname });
  }
}
