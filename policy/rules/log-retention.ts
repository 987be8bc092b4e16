import { asNumber, type PolicyInput } from './resource.js';

/** Resource check: every CloudWatch log group expires its events; unset or 0 keeps (and bills) them forever. */
export function logRetentionSet(resource: PolicyInput): string[] {
  if (resource.type !== 'aws:cloudwatch/logGroup:LogGroup') return [];
  const days = asNumber(resource.props.retentionInDays);
  return days !== undefined && days > 0
    ? []
    : [
        `CloudWatch log group ${resource.name}: retentionInDays is ${days === undefined ? 'not set' : days}, so logs are kept and billed forever; set a retention period`,
      ];
}
