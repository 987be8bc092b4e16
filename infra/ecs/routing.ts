import type * as aws from '@pulumi/aws';
import type { PublicServer } from '../config/server.js';
import { albPathGroups, prefixRewrite, rulePriorities } from '../shared/routing.js';

/**
 * The listener rules of one server: its host, and only the paths its clients need
 * (infra/shared/public-routes.ts). Anything else, `/health` and `/metrics` included, falls to the
 * listener's default action, a 404 from the ALB itself.
 */
export function routeRules(
  server: PublicServer,
): { priority: number; conditions: aws.types.input.lb.ListenerRuleCondition[] }[] {
  const priorities = rulePriorities(server);
  return albPathGroups(server).map((patterns, index) => ({
    priority: priorities[index] as number,
    conditions: [
      { pathPattern: { values: patterns } },
      ...(server.ingress.host ? [{ hostHeader: { values: [server.ingress.host] } }] : []),
    ],
  }));
}

/**
 * A server under a path prefix still sees `/mcp`: the rule strips the prefix before forwarding
 * (url-rewrite transform, "Transforms for listener rules", ELB docs). Without it `/team-a/mcp`
 * reaches an app that routes only `/mcp`, and gets 404.
 */
export function routeTransforms(server: PublicServer): aws.types.input.lb.ListenerRuleTransform[] {
  const rewrite = prefixRewrite(server.ingress.path);
  return rewrite ? [{ type: 'url-rewrite', urlRewriteConfig: { rewrite } }] : [];
}
