import type * as aws from '@pulumi/aws';
import type { ServerConfig } from '../config.js';
import { prefixRewrite } from '../shared/routing.js';

/** Host and/or path conditions; `/` alone matches everything on that host. */
export function routeConditions(server: ServerConfig): aws.types.input.lb.ListenerRuleCondition[] {
  const { path, host } = server.ingress;
  const conditions: aws.types.input.lb.ListenerRuleCondition[] = [
    { pathPattern: { values: path === '/' ? ['/*'] : [path, `${path}/*`] } },
  ];
  if (host) conditions.push({ hostHeader: { values: [host] } });
  return conditions;
}

/**
 * A server under a path prefix still sees `/mcp`: the rule strips the prefix before forwarding
 * (url-rewrite transform, "Transforms for listener rules", ELB docs). Without it `/team-a/mcp`
 * reaches an app that routes only `/mcp`, and gets 404.
 */
export function routeTransforms(server: ServerConfig): aws.types.input.lb.ListenerRuleTransform[] {
  const rewrite = prefixRewrite(server.ingress.path);
  return rewrite ? [{ type: 'url-rewrite', urlRewriteConfig: { rewrite } }] : [];
}
