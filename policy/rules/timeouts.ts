import { SSE_MARKER_ANNOTATION as SSE_MARKER } from '../../infra/k8s/sse.js';
import { asNumber, asRecord, type PolicyInput } from './resource.js';

/**
 * SSE streams sit idle between events for minutes. Every proxy in front of the app must let them
 * live for an hour; the app's heartbeats (15 s) cover the idle timeouts that cannot be raised.
 */

export const MIN_STREAM_SECONDS = 3600;
/** AWS's default when `idleTimeout` is not set. */
const ALB_DEFAULT_IDLE_SECONDS = 60;

/** Resource check: an application load balancer keeps idle connections for at least an hour. */
export function albIdleTimeout(resource: PolicyInput): string[] {
  if (
    resource.type !== 'aws:lb/loadBalancer:LoadBalancer' &&
    resource.type !== 'aws:alb/loadBalancer:LoadBalancer'
  ) {
    return [];
  }
  // Network and gateway load balancers have fixed TCP idle timeouts; only ALBs take idleTimeout.
  const kind = resource.props.loadBalancerType ?? 'application';
  if (kind !== 'application') return [];
  const seconds = asNumber(resource.props.idleTimeout) ?? ALB_DEFAULT_IDLE_SECONDS;
  return seconds >= MIN_STREAM_SECONDS
    ? []
    : [
        `load balancer ${resource.name}: idleTimeout is ${seconds} s${resource.props.idleTimeout === undefined ? ' (the default)' : ''}; SSE streams need at least ${MIN_STREAM_SECONDS} s`,
      ];
}

/** The annotations each nginx controller reads for buffering and the upstream read timeout. */
const CONTROLLERS = [
  {
    name: 'F5 NGINX',
    buffering: 'nginx.org/proxy-buffering',
    bufferingOff: 'false',
    readTimeout: 'nginx.org/proxy-read-timeout',
  },
  {
    name: 'ingress-nginx',
    buffering: 'nginx.ingress.kubernetes.io/proxy-buffering',
    bufferingOff: 'off',
    readTimeout: 'nginx.ingress.kubernetes.io/proxy-read-timeout',
  },
] as const;

/** nginx durations: `3600`, `3600s`, `60m`, `1h`, `1h30m`… in seconds; undefined when unreadable. */
export function nginxSeconds(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  return parts.reduce((sum, part) => sum + Number(part[1]) * (units[part[2] as string] ?? 0), 0);
}

/**
 * Resource check: an Ingress that carries SSE (marked by the program, or with buffering turned off,
 * which only streaming needs) sets a read timeout of at least an hour; nginx's default is 60 s.
 */
export function ingressReadTimeout(resource: PolicyInput): string[] {
  if (resource.type !== 'kubernetes:networking.k8s.io/v1:Ingress') return [];
  const annotations = asRecord(asRecord(resource.props.metadata)?.annotations) ?? {};
  const sse =
    annotations[SSE_MARKER] === 'true' ||
    CONTROLLERS.some((controller) => annotations[controller.buffering] === controller.bufferingOff);
  if (!sse) return [];
  const at = `Ingress ${resource.name} serves SSE`;
  const set = CONTROLLERS.filter((controller) => annotations[controller.readTimeout] !== undefined);
  if (set.length === 0) {
    return [
      `${at} but sets no proxy-read-timeout annotation, so nginx cuts idle streams after 60 s; set ${CONTROLLERS.map((c) => c.readTimeout).join(' or ')} to at least ${MIN_STREAM_SECONDS}s`,
    ];
  }
  return set.flatMap((controller) => {
    const value = String(annotations[controller.readTimeout]);
    const seconds = nginxSeconds(value);
    return seconds !== undefined && seconds >= MIN_STREAM_SECONDS
      ? []
      : [
          `${at} but ${controller.readTimeout} is "${value}"; streams idle longer than that are cut: set at least ${MIN_STREAM_SECONDS}s`,
        ];
  });
}
