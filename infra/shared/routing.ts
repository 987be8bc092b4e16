import { createHash } from 'node:crypto';
import { FIRST_ROUTE_PRIORITY, type ServerConfig } from '../config/server.js';

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
export function rulePriority(server: Pick<ServerConfig, 'ingress'>): number {
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
