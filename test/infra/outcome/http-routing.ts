import { label, type Resource, type ResourceGraph, T } from './graph.js';

/**
 * Where a load balancer sends an HTTP request: the ALB's listener rules and the Ingress of an
 * nginx controller. Reachability says a connection opens; this says which container a given
 * `Host` and path end up at, or that the edge answers itself.
 */

export interface HttpRequest {
  host: string;
  path: string;
}

export type AlbDecision =
  | { kind: 'forward'; targetGroup: Resource; by: string }
  | { kind: 'fixed-response'; status: string; by: string }
  | { kind: 'redirect'; by: string };

/** `*` any run of characters, `?` one character; everything else literal. */
function wildcard(pattern: string, flags = ''): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

// biome-ignore lint/suspicious/noExplicitAny: one ListenerRuleCondition.
function conditionMatches(condition: any, request: HttpRequest): boolean {
  // "Host conditions are not case-sensitive"; "path patterns are case-sensitive", both take * and ?
  // (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html).
  if (condition.hostHeader) {
    return condition.hostHeader.values.some((value: string) => wildcard(value, 'i').test(request.host));
  }
  if (condition.pathPattern) {
    return condition.pathPattern.values.some((value: string) => wildcard(value).test(request.path));
  }
  // Header, method, query and source-IP conditions: the product uses none; never match silently.
  return false;
}

// biome-ignore lint/suspicious/noExplicitAny: one listener or rule action.
function decide(graph: ResourceGraph, action: any, by: string): AlbDecision {
  if (action.type === 'forward') {
    const arn = action.targetGroupArn ?? action.forward?.targetGroups?.[0]?.arn;
    const targetGroup = graph.byRef(T.targetGroup, arn);
    if (!targetGroup) throw new Error(`${by} forwards to ${arn}, which is not in the graph`);
    return { kind: 'forward', targetGroup, by };
  }
  if (action.type === 'fixed-response')
    return { kind: 'fixed-response', status: action.fixedResponse?.statusCode, by };
  return { kind: 'redirect', by };
}

/**
 * The ALB evaluates a listener's rules "in priority order, from the lowest value to the highest
 * value", and the default action last
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html).
 */
export function albDecision(graph: ResourceGraph, listener: Resource, request: HttpRequest): AlbDecision {
  const rules = graph
    .ofType(T.listenerRule)
    .filter((rule) => rule.inputs.listenerArn === listener.state.arn)
    .sort((a, b) => a.inputs.priority - b.inputs.priority);
  for (const rule of rules) {
    const conditions = rule.inputs.conditions ?? [];
    if (conditions.every((condition: unknown) => conditionMatches(condition, request))) {
      return decide(graph, rule.inputs.actions[0], `${label(rule)} (priority ${rule.inputs.priority})`);
    }
  }
  return decide(graph, listener.inputs.defaultActions[0], `${label(listener)} default action`);
}

export interface IngressBackend {
  namespace: string;
  service: string;
  /** The Service port, by name or number. */
  port: string | number;
  /** The path the backend receives (after a rewrite). */
  path: string;
  by: string;
}

const USE_REGEX = 'nginx.ingress.kubernetes.io/use-regex';
const REWRITE_TARGET = 'nginx.ingress.kubernetes.io/rewrite-target';

/** `Prefix` matches element-wise on `/`-separated segments; `/` matches every path. */
function prefixMatches(prefix: string, path: string): boolean {
  const want = prefix.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  return want.every((segment, index) => have[index] === segment);
}

function hostMatches(ruleHost: string | undefined, host: string): boolean {
  if (!ruleHost) return true;
  if (ruleHost.startsWith('*.'))
    return host.endsWith(ruleHost.slice(1)) && host.split('.').length === ruleHost.split('.').length;
  return ruleHost.toLowerCase() === host.toLowerCase();
}

/**
 * The Ingress backend an nginx controller of `ingressClass` picks for a request: a rule whose host
 * matches (a rule without host matches any), then the longest matching path, Exact before Prefix
 * (https://kubernetes.io/docs/concepts/services-networking/ingress/#path-types;
 * ImplementationSpecific is a prefix for nginx). With ingress-nginx's `use-regex`, each path is a
 * case-insensitive regular expression anchored at the start, and `rewrite-target` replaces the match
 * with its capture groups ("Ingress Path Matching" and "Rewrite", ingress-nginx docs).
 */
export function ingressBackend(
  graph: ResourceGraph,
  ingressClass: string,
  request: HttpRequest,
): IngressBackend | undefined {
  const candidates: { length: number; exact: boolean; hostSpecific: boolean; backend: IngressBackend }[] = [];
  for (const ingress of graph.ofType(T.ingress)) {
    const spec = ingress.inputs.spec ?? {};
    if (spec.ingressClassName !== ingressClass) continue;
    const namespace = ingress.inputs.metadata?.namespace ?? 'default';
    const annotations: Record<string, string> = ingress.inputs.metadata?.annotations ?? {};
    const regex = annotations[USE_REGEX] === 'true';
    for (const rule of spec.rules ?? []) {
      if (!hostMatches(rule.host, request.host)) continue;
      for (const path of rule.http?.paths ?? []) {
        const exact = path.pathType === 'Exact';
        const pattern = regex && !exact ? new RegExp(`^${path.path}`, 'i') : undefined;
        const matched = pattern
          ? pattern.test(request.path)
          : exact
            ? path.path === request.path
            : prefixMatches(path.path, request.path);
        if (!matched) continue;
        const target = annotations[REWRITE_TARGET];
        // nginx's `rewrite` replaces the whole URI with the target, its $n the regex's capture groups.
        const groups = pattern?.exec(request.path);
        const received =
          groups && target
            ? target.replace(/\$(\d)/g, (_, n: string) => groups[Number(n)] ?? '')
            : request.path;
        const service = path.backend.service;
        candidates.push({
          length: path.path.length,
          exact,
          hostSpecific: rule.host !== undefined,
          backend: {
            namespace,
            service: service.name,
            port: service.port.name ?? service.port.number,
            path: received,
            by: label(ingress),
          },
        });
      }
    }
  }
  candidates.sort(
    (a, b) =>
      Number(b.hostSpecific) - Number(a.hostSpecific) ||
      b.length - a.length ||
      Number(b.exact) - Number(a.exact),
  );
  return candidates[0]?.backend;
}
