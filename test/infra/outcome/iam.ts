/**
 * Whether an identity policy allows an action on a resource, as IAM evaluates the Allow statements
 * of one policy ("Policy evaluation logic", IAM user guide): `Action` and `Resource` match with `*`
 * and `?` wildcards, case-insensitively for actions. Conditions are returned, not evaluated: the
 * caller decides what a condition must say.
 */

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

function matches(pattern: string, value: string, caseInsensitive = false): boolean {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, caseInsensitive ? 'i' : '').test(value);
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The Allow statements that grant `action` on `resource`, with their conditions. */
export function allowing(policy: string, action: string, resource: string): Statement[] {
  const statements = list<Statement>(JSON.parse(policy).Statement);
  const denied = statements.some(
    (statement) =>
      statement.Effect === 'Deny' &&
      list(statement.Action).some((pattern) => matches(pattern, action, true)) &&
      list(statement.Resource).some((pattern) => matches(pattern, resource)),
  );
  if (denied) return [];
  return statements.filter(
    (statement) =>
      statement.Effect === 'Allow' &&
      list(statement.Action).some((pattern) => matches(pattern, action, true)) &&
      list(statement.Resource).some((pattern) => matches(pattern, resource)),
  );
}
