/**
 * What every rule sees: a resource's type token, name, URN and properties, as the policy engine
 * hands them over (`args.props` of a resource policy; the stack policy's resources) or as a test
 * captures them from the mocked program. Rules are plain functions of this shape, so they run
 * without the engine; policy/policies.ts wraps them for @pulumi/policy.
 *
 * During `pulumi preview` some properties are still unknown. The engine's props object throws its
 * own UnknownValueError when a rule reads one, and @pulumi/policy then reports that policy as
 * advisory for the preview; rules therefore never catch errors themselves.
 */
export interface PolicyInput {
  /** The Pulumi type token, e.g. `aws:lb/loadBalancer:LoadBalancer`. */
  type: string;
  /** The resource's logical name. */
  name: string;
  /** `urn:pulumi:<stack>::<project>::<type>::<name>`. */
  urn: string;
  props: Record<string, unknown>;
}

/** A resource as the stack policy sees it: plus its id (when known) and which resources each property came from. */
export interface StackInput extends PolicyInput {
  /** The provider id; known after deployment, absent during a first preview. */
  id?: string;
  /** property name → URNs of the resources whose outputs it was built from. */
  propertyDependencies?: Record<string, string[]>;
}

/** The stack a resource belongs to, read from its URN: the one fact every policy run is sure to have. */
export function stackOf(urn: string): string {
  const match = /^urn:pulumi:([^:]+)::/.exec(urn);
  if (!match?.[1]) throw new Error(`not a Pulumi URN: ${urn}`);
  return match[1];
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Numbers arrive as numbers or, in some providers' inputs (ECS task cpu), as numeric strings. */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

/** Booleans arrive as booleans or, from some providers, as "true"/"false". */
export function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

export const WORLD_IPV4 = '0.0.0.0/0';
export const WORLD_IPV6 = '::/0';
