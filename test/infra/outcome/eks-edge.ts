import { type Resource, type ResourceGraph, T } from './graph.js';
import type { Labels } from './network-policy.js';
import type { SgRule } from './security-groups.js';

/**
 * The edge of an EKS cluster: which controller turns the LoadBalancer Service into an NLB, what that
 * NLB does with connections, and which nginx pods it sends them to.
 *
 * - A Service with `loadBalancerClass: service.k8s.aws/nlb` is the AWS Load Balancer Controller's;
 *   "If the spec.loadBalancerClass is set to a loadBalancerClass that isn't recognized by the LBC, it
 *   ignores the Service resource" (LBC docs, guide/service/nlb.md). `eks.amazonaws.com/nlb` is Auto
 *   Mode's built-in controller's. A Service without a class falls to the in-tree controller, which
 *   ignores LBC annotations and never updates an existing NLB (kubernetes/kubernetes#114111).
 * - The LBC makes an internal NLB unless `aws-load-balancer-scheme: internet-facing`, targets
 *   instances unless `aws-load-balancer-nlb-target-type: ip`, and applies
 *   `aws-load-balancer-listener-attributes.TCP-<port>` (LBC annotations reference). Auto Mode's
 *   controller "may not support all annotations" (EKS "Use Service Annotations to configure Network
 *   Load Balancers"): listener attributes are not among those it documents, so they count as ignored.
 * - A TLS listener's idle timeout "is 350 seconds and can't be modified"; a TCP listener's is 350 s
 *   unless raised (60-6000 s) ("Update the TCP idle timeout", ELB docs).
 * - With security groups on the NLB, the LBC creates a frontend group (open to the source ranges,
 *   0.0.0.0/0 by default) and a backend group, and admits the backend group on the target ports in
 *   the targets' security group (LBC docs, "Network Load Balancer", security groups).
 */

export type Provisioner = 'aws-load-balancer-controller' | 'eks-auto-mode' | 'in-tree' | 'nobody';

export interface NlbListener {
  port: number;
  protocol: 'TCP' | 'TLS';
  idleTimeoutSeconds: number;
  targetPort: string | number;
}

export interface Nlb {
  service: Resource;
  provisioner: Provisioner;
  internetFacing: boolean;
  targetType: 'ip' | 'instance';
  /** The target sees the client's address (per-IP limits count clients). */
  clientIpPreserved: boolean;
  listeners: NlbListener[];
  /** The security groups the provisioner puts on the NLB, and the rules it adds for them. */
  securityGroupIds: string[];
  rules: { group: string; rule: SgRule }[];
}

const ANNOTATION = 'service.beta.kubernetes.io/aws-load-balancer-';
export const NLB_FRONTEND_GROUP = 'sg-nlb-frontend';
export const NLB_BACKEND_GROUP = 'sg-nlb-backend';
/** The NodePort range the in-tree controller opens on the node security group for an NLB. */
const NODE_PORTS = { from: 30000, to: 32767 };

/** `a=1,b=2` → { a: '1', b: '2' } (the LBC's stringMap annotations). */
function stringMap(text: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (text ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=').map((part) => part.trim()) as [string, string]),
  );
}

export function helmRelease(graph: ResourceGraph, chart: RegExp): Resource | undefined {
  return graph.ofType(T.helmRelease).find((release) => chart.test(String(release.inputs.chart)));
}

function provisionerOf(graph: ResourceGraph, service: Resource, autoMode: boolean): Provisioner {
  const loadBalancerClass = service.inputs.spec?.loadBalancerClass;
  const lbc = helmRelease(graph, /aws-load-balancer-controller/);
  if (loadBalancerClass === 'service.k8s.aws/nlb') return lbc ? 'aws-load-balancer-controller' : 'nobody';
  if (loadBalancerClass === 'eks.amazonaws.com/nlb') return autoMode ? 'eks-auto-mode' : 'nobody';
  if (loadBalancerClass !== undefined) return 'nobody';
  // Without a class the LBC's mutating webhook claims the Service, if it runs.
  if (lbc && lbc.inputs.values?.enableServiceMutatorWebhook !== false) return 'aws-load-balancer-controller';
  return autoMode ? 'eks-auto-mode' : 'in-tree';
}

/** The NLB of the first LoadBalancer Service in the graph (the ingress controller's), if any. */
export function nlbOf(graph: ResourceGraph, autoMode: boolean): Nlb | undefined {
  const service = graph
    .ofType(T.k8sService)
    .find((candidate) => candidate.inputs.spec?.type === 'LoadBalancer');
  if (!service) return undefined;
  const annotations: Record<string, string> = service.inputs.metadata?.annotations ?? {};
  const provisioner = provisionerOf(graph, service, autoMode);
  const lbcStyle = provisioner === 'aws-load-balancer-controller' || provisioner === 'eks-auto-mode';
  const internetFacing = lbcStyle
    ? annotations[`${ANNOTATION}scheme`] === 'internet-facing'
    : annotations[`${ANNOTATION}internal`] !== 'true';
  const targetType = lbcStyle && annotations[`${ANNOTATION}nlb-target-type`] === 'ip' ? 'ip' : 'instance';
  const targetGroup = stringMap(annotations[`${ANNOTATION}target-group-attributes`]);
  const clientIpPreserved =
    targetType === 'ip'
      ? targetGroup['preserve_client_ip.enabled'] === 'true'
      : service.inputs.spec?.externalTrafficPolicy === 'Local';
  const sslPorts = (annotations[`${ANNOTATION}ssl-ports`] ?? '').split(',').filter(Boolean);
  const listeners: NlbListener[] = (service.inputs.spec?.ports ?? []).map(
    (port: { port: number; targetPort?: string | number }) => {
      const tls =
        annotations[`${ANNOTATION}ssl-cert`] !== undefined &&
        (sslPorts.length === 0 || sslPorts.includes(String(port.port)));
      const attributes = stringMap(annotations[`${ANNOTATION}listener-attributes.TCP-${port.port}`]);
      const raised =
        !tls && provisioner === 'aws-load-balancer-controller'
          ? Number(attributes['tcp.idle_timeout.seconds'] ?? 350)
          : 350;
      return {
        port: port.port,
        protocol: tls ? 'TLS' : 'TCP',
        idleTimeoutSeconds: raised,
        targetPort: port.targetPort ?? port.port,
      };
    },
  );
  const rules: Nlb['rules'] = [];
  if (lbcStyle && targetType === 'ip') {
    for (const listener of listeners) {
      rules.push({
        group: NLB_FRONTEND_GROUP,
        rule: {
          direction: 'ingress',
          protocol: 'tcp',
          fromPort: listener.port,
          toPort: listener.port,
          cidr: '0.0.0.0/0',
          origin: `the frontend security group the ${provisioner} puts on the NLB`,
        },
      });
    }
  } else {
    rules.push({
      group: 'nodes',
      rule: {
        direction: 'ingress',
        protocol: 'tcp',
        fromPort: NODE_PORTS.from,
        toPort: NODE_PORTS.to,
        cidr: '0.0.0.0/0',
        origin: 'the rule the in-tree service controller adds for the NLB',
      },
    });
  }
  return {
    service,
    provisioner,
    internetFacing,
    targetType,
    clientIpPreserved,
    listeners,
    securityGroupIds: lbcStyle && targetType === 'ip' ? [NLB_FRONTEND_GROUP, NLB_BACKEND_GROUP] : [],
    rules,
  };
}

/**
 * The labels of a controller release's pods, as its chart's `selectorLabels` helper renders them:
 * F5 NGINX (`nginx-ingress.selectorLabels`: `controller.selectorLabels`, else name and instance) and
 * ingress-nginx (`ingress-nginx.selectorLabels` plus `app.kubernetes.io/component: controller`).
 */
export function controllerPodLabels(release: Resource): Labels {
  const values = release.inputs.values ?? {};
  if (String(release.inputs.chart).includes('ingress-nginx')) {
    return {
      'app.kubernetes.io/name': values.nameOverride ?? 'ingress-nginx',
      'app.kubernetes.io/instance': release.inputs.name,
      'app.kubernetes.io/component': 'controller',
    };
  }
  return (
    values.controller?.selectorLabels ?? {
      'app.kubernetes.io/name': values.nameOverride ?? 'nginx-ingress',
      'app.kubernetes.io/instance': release.inputs.name,
    }
  );
}

/** The nginx controller's release: F5's chart or ingress-nginx. */
export function controllerRelease(graph: ResourceGraph): Resource | undefined {
  return helmRelease(graph, /nginx-ingress|ingress-nginx/);
}

/** Both charts' controller containers listen on 80 (`http`) and 443 (`https`) (their `containerPort` values). */
export const CONTROLLER_PORTS: Record<string, number> = { http: 80, https: 443 };

/** nginx size syntax (`4m`, `512k`, `1048576`) → bytes ("Syntax", nginx docs: k and m suffixes). */
export function nginxSize(text: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(text.trim());
  if (!match) throw new Error(`not an nginx size: ${text}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] as number;
  return Number(match[1]) * unit;
}

/**
 * The largest request body nginx passes on for one Ingress: its annotation, else the controller's
 * ConfigMap entry, else nginx's `client_max_body_size` default of 1m. F5: `nginx.org/client-max-body-size`
 * and `client-max-body-size`; ingress-nginx: `nginx.ingress.kubernetes.io/proxy-body-size` and
 * `proxy-body-size` (each controller's annotation and ConfigMap references).
 */
export function bodyLimitBytes(release: Resource, ingress: Resource): number {
  const annotations: Record<string, string> = ingress.inputs.metadata?.annotations ?? {};
  const values = release.inputs.values ?? {};
  const f5 = !String(release.inputs.chart).includes('ingress-nginx');
  const annotated = f5
    ? annotations['nginx.org/client-max-body-size']
    : annotations['nginx.ingress.kubernetes.io/proxy-body-size'];
  const global = f5
    ? values.controller?.config?.entries?.['client-max-body-size']
    : values.controller?.config?.['proxy-body-size'];
  return nginxSize(annotated ?? global ?? '1m');
}

/**
 * What happens to a stream open on a controller pod when that pod stops (a rollout, a controller
 * switch, a node drain), in seconds. The kubelet runs the preStop hook, then sends SIGTERM, and
 * SIGKILL when `terminationGracePeriodSeconds` (counted from the start) runs out ("Termination of
 * Pods", Kubernetes docs). nginx stops gracefully on SIGTERM/SIGQUIT: old workers keep serving open
 * connections until they end or `worker_shutdown_timeout` passes (nginx core docs; unset, a stream
 * holds its worker forever). The NLB keeps forwarding to a deregistered target for the deregistration
 * delay (300 s by default, "Target groups for your Network Load Balancers").
 */
export interface ControllerRoll {
  preStopSeconds: number;
  /** undefined: nginx waits for every stream, so reloads pile up old workers (F5 PR #2836). */
  workerShutdownSeconds?: number;
  terminationGraceSeconds: number;
  deregistrationDelaySeconds: number;
  memoryLimitMiB?: number;
  /** When an open stream is cut, after the pod starts stopping; what cuts it. */
  streamCutAfterSeconds: number;
  cutBy: 'nginx worker_shutdown_timeout' | 'SIGKILL' | 'the NLB deregistration delay';
}

function seconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)(s|m)?$/.exec(text);
  return match ? Number(match[1]) * (match[2] === 'm' ? 60 : 1) : undefined;
}

function mebibytes(text: string | undefined): number | undefined {
  const match = /^(\d+)(Mi|Gi)$/.exec(text ?? '');
  return match ? Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1) : undefined;
}

export function controllerRoll(release: Resource, edge: Nlb | undefined): ControllerRoll {
  const values = release.inputs.values?.controller ?? {};
  const f5 = !String(release.inputs.chart).includes('ingress-nginx');
  const workerShutdownSeconds = seconds(
    f5 ? values.config?.entries?.['worker-shutdown-timeout'] : values.config?.['worker-shutdown-timeout'],
  );
  // Chart defaults: F5 30 s and no preStop; ingress-nginx 300 s and a preStop that waits for nginx.
  const terminationGraceSeconds = Number(values.terminationGracePeriodSeconds ?? (f5 ? 30 : 300));
  const preStopSeconds = Number(values.lifecycle?.preStop?.sleep?.seconds ?? 0);
  const attributes = stringMap(
    edge?.service.inputs.metadata?.annotations?.[`${ANNOTATION}target-group-attributes`],
  );
  const deregistrationDelaySeconds = Number(attributes['deregistration_delay.timeout_seconds'] ?? 300);
  const bounds: [number, ControllerRoll['cutBy']][] = [
    [preStopSeconds + (workerShutdownSeconds ?? Number.POSITIVE_INFINITY), 'nginx worker_shutdown_timeout'],
    [terminationGraceSeconds, 'SIGKILL'],
    [deregistrationDelaySeconds, 'the NLB deregistration delay'],
  ];
  const [streamCutAfterSeconds, cutBy] = bounds.sort((a, b) => a[0] - b[0])[0] as [
    number,
    ControllerRoll['cutBy'],
  ];
  return {
    preStopSeconds,
    workerShutdownSeconds,
    terminationGraceSeconds,
    deregistrationDelaySeconds,
    memoryLimitMiB: mebibytes(values.resources?.limits?.memory),
    streamCutAfterSeconds,
    cutBy,
  };
}
