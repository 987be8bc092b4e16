import { createHash } from 'node:crypto';

/**
 * A short, stable name part for one member of a list (a policy ARN, a principal ARN). Resources named
 * by list index are renamed when the list is reordered, and Pulumi's replacement then detaches the
 * very (role, policy) pair it just attached (pulumi/pulumi#9569, pulumi/pulumi-aws#1980); named by
 * what they hold, they never move.
 */
export function nameFor(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 10);
}
