import { createHash } from 'node:crypto';
import { FIRST_ROUTE_PRIORITY, type IngressConfig, type PublicServer } from '../config/server.js';
import { type PublicPath, publicPath, publicPaths } from './public-routes.js';

/**
 * Where each server sits behind the shared load balancer: its ALB listener-rule priority and the
 * rewrite that strips its path prefix. Pure functions: the stack config check and both platforms
 * use the same answers.
 */

/** Path depths 0-9 each get a band; anything deeper shares the deepest band. */
const DEPTHS = 10;
/** Two groups (with a host, without one) × 10 depths × 2400 = 48 000 priorities above 100. */
const BAND_WIDTH = 2400;

/** `/` is 0, `/team-a` is 1, `/team-a/tools` is 2. */
export function pathDepth(path: string): number {
  return path === '/' ? 0 : path.split('/').length - 1;
}

/**
 * The ALB listener-rule priority of one server: `ingress.priority` when set, otherwise a value
 * derived from its host and path alone. ALB evaluates rules lowest first, so the bands put
 * host-specific rules before host-less ones, and deeper paths before shallower ones: a catch-all can
 * never shadow a narrower route. Within a band, a hash of host + path picks the slot, so adding,
 * removing or reordering other servers never moves a rule. A priority derived from sorted position
 * would: Pulumi would then update several rules at once, and ALB rejects the overlap with
 * PriorityInUse (pulumi/pulumi-aws#175). Collisions are refused by the stack config check.
 * Priorities: "Listener rules for your Application Load Balancer", ELB docs (1-50000, lowest first).
 */
export function rulePriority(server: { ingress: IngressConfig }): number {
  const { host, path, priority } = server.ingress;
  if (priority !== undefined) return priority;
  const depth = Math.min(pathDepth(path), DEPTHS - 1);
  const band = (host ? 0 : DEPTHS) + (DEPTHS - 1 - depth);
  const slot =
    createHash('sha256')
      .update(`${host ?? '*'}${path}`)
      .digest()
      .readUInt32BE(0) % BAND_WIDTH;
  return FIRST_ROUTE_PRIORITY + band * BAND_WIDTH + slot;
}

/**
 * The regex and replacement that strip a path prefix (`/team-a/mcp` → `/mcp`, `/team-a` → `/`), or
 * undefined for `/`. The path was validated to hold only unreserved URL characters.
 */
export function prefixRewrite(path: string): { regex: string; replace: string } | undefined {
  if (path === '/') return undefined;
  return { regex: `^${path.replaceAll('.', '\\.')}/?(.*)$`, replace: '/$1' };
}

/**
 * An ALB rule holds at most five condition values and five match evaluations, a host counting as
 * one ("Quotas for your Application Load Balancers", ELB docs: condition values per rule, match
 * evaluations per rule). A server's public paths are split into as few rules as that allows.
 */
export const ALB_CONDITION_VALUES = 5;

/** The ALB path patterns of one server (`/mcp`, `/servers/*`), in groups that each fit one rule. */
export function albPathGroups(server: PublicServer): string[][] {
  const patterns = publicPaths(server).map((entry: PublicPath) => {
    const path = publicPath(server, entry.path);
    return entry.match === 'exact' ? path : `${path}/*`;
  });
  const size = ALB_CONDITION_VALUES - (server.ingress.host ? 1 : 0);
  const groups: string[][] = [];
  for (let at = 0; at < patterns.length; at += size) groups.push(patterns.slice(at, at + size));
  return groups;
}

/**
 * The priority of each of a server's rules: its own priority, then the next numbers, so the first
 * rule keeps the number (and the resource) it always had. The stack config check refuses overlaps.
 */
export function rulePriorities(server: PublicServer): number[] {
  const first = rulePriority(server);
  return albPathGroups(server).map((_, index) => first + index);
}
