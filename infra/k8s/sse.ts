/**
 * The one place that says how each nginx controller keeps SSE streams alive: no response buffering
 * (events must leave as they are written) and hour-long proxy timeouts (the default 60 s would cut
 * every idle stream). The app's 15 s heartbeats keep streams under every idle timeout in between.
 */
export type IngressController = 'f5-nginx' | 'ingress-nginx';

export const SSE_ANNOTATIONS: Record<IngressController, Record<string, string>> = {
  // F5 NGINX Ingress Controller (maintained; the default).
  'f5-nginx': {
    'nginx.org/proxy-buffering': 'false',
    'nginx.org/proxy-read-timeout': '3600s',
    'nginx.org/proxy-send-timeout': '3600s',
  },
  // Community ingress-nginx (retired March 2026), for clusters that still run it.
  'ingress-nginx': {
    'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
    'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
    'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
    'nginx.ingress.kubernetes.io/proxy-http-version': '1.1',
  },
};

/**
 * Marks an Ingress that carries SSE, independently of the controller. The policy pack
 * (policy/rules/timeouts.ts) then insists on an hour-long read timeout, even if the
 * controller-specific annotations above went missing.
 */
export const SSE_MARKER_ANNOTATION = 'mcp-fleet/sse';

/**
 * Each controller's own IngressClass: two releases never claim one object, so a switch can install
 * the new controller before removing the old one (finding 15: with one shared class, Helm refuses the
 * second release with "invalid ownership metadata").
 */
export const INGRESS_CLASS: Record<IngressController, string> = {
  'f5-nginx': 'nginx',
  'ingress-nginx': 'ingress-nginx',
};

/**
 * The largest request body nginx passes on: the app's own limit (MAX_BODY in app/http/app.ts, 4 MB;
 * a test keeps the two equal). Both controllers default to 1 MB (nginx `client_max_body_size`), which
 * answered 413 to bodies the app accepts (finding 10).
 */
export const INGRESS_BODY_LIMIT = '4m';

/** Per-Ingress body limit, in each controller's dialect (the global ConfigMap entry sets it too). */
export const BODY_ANNOTATIONS: Record<IngressController, Record<string, string>> = {
  'f5-nginx': { 'nginx.org/client-max-body-size': INGRESS_BODY_LIMIT },
  'ingress-nginx': { 'nginx.ingress.kubernetes.io/proxy-body-size': INGRESS_BODY_LIMIT },
};
