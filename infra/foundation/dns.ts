import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ServerConfig } from '../config.js';

export interface PublicDomainArgs {
  /** The stack's `domain`: servers live at `<name>.<domain>` (or the host they set). */
  name: string;
  /** The public hosted zone; unset: the zone named exactly `name`. */
  hostedZoneId?: string;
  /** Request an ACM certificate (for the ALB); EKS ends TLS in nginx with its own certificate. */
  acmCertificate: boolean;
  tags: Record<string, string>;
}

/** One host and the label its record is named by (the server name, which never changes). */
export interface HostRecord {
  label: string;
  host: string;
}

/** One DNS record per server host, named by the server. */
export function hostRecords(servers: Record<string, ServerConfig>): HostRecord[] {
  return Object.entries(servers).flatMap(([label, server]) =>
    server.ingress?.host ? [{ label, host: server.ingress.host }] : [],
  );
}

/**
 * TLS and names from one `domain`: an ACM certificate for `<domain>` and `*.<domain>`, validated by
 * DNS in the Route 53 zone, and one record per server host pointing at the load balancer.
 */
export class PublicDomain extends pulumi.ComponentResource {
  readonly name: string;
  readonly zoneId: pulumi.Output<string>;
  /**
   * The certificate's ARN as CertificateValidation returns it: a listener using it is created only
   * once ACM has issued the certificate (an HTTPS listener on a pending certificate fails).
   */
  readonly certificateArn: pulumi.Output<string> | undefined;

  constructor(name: string, args: PublicDomainArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:foundation:PublicDomain', name, {}, opts);
    const parent = { parent: this };
    this.name = args.name;
    this.zoneId = args.hostedZoneId
      ? pulumi.output(args.hostedZoneId)
      : aws.route53.getZoneOutput({ name: args.name, privateZone: false }, parent).zoneId;
    this.certificateArn = args.acmCertificate ? acmCertificate(this, name, args, this.zoneId) : undefined;
    this.registerOutputs({ certificateArn: this.certificateArn });
  }

  /** ECS: alias A records to the ALB (an alias, unlike a CNAME, also works at the zone apex). */
  aliasTo(
    records: HostRecord[],
    target: { dnsName: pulumi.Input<string>; zoneId: pulumi.Input<string> },
    parent: pulumi.Resource,
  ): void {
    for (const { label, host } of records) {
      new aws.route53.Record(
        `${label}-dns`,
        {
          zoneId: this.zoneId,
          name: host,
          type: 'A',
          aliases: [{ name: target.dnsName, zoneId: target.zoneId, evaluateTargetHealth: true }],
        },
        { parent },
      );
    }
  }

  /** EKS: CNAMEs to the ingress controller's NLB, whose hosted zone the program does not learn. */
  cnameTo(records: HostRecord[], hostname: pulumi.Input<string>, parent: pulumi.Resource): void {
    for (const { label, host } of records) {
      new aws.route53.Record(
        `${label}-dns`,
        { zoneId: this.zoneId, name: host, type: 'CNAME', ttl: 60, records: [hostname] },
        { parent },
      );
    }
  }
}

/** One ACM certificate for `<domain>` and `*.<domain>`, validated by DNS in the zone. */
function acmCertificate(
  parent: pulumi.Resource,
  name: string,
  args: PublicDomainArgs,
  zoneId: pulumi.Output<string>,
): pulumi.Output<string> {
  const certificate = new aws.acm.Certificate(
    `${name}-cert`,
    {
      domainName: args.name,
      subjectAlternativeNames: [`*.${args.name}`],
      validationMethod: 'DNS',
      tags: args.tags,
    },
    { parent },
  );
  // ACM asks for the same CNAME for a name and its wildcard ("DNS validation", ACM user guide), so
  // one record validates both; reading the first option keeps the record out of an apply.
  const option = certificate.domainValidationOptions.apply((options) => {
    const first = options?.[0];
    if (!first) throw new Error(`ACM returned no DNS validation record for ${args.name}`);
    return first;
  });
  const validationRecord = new aws.route53.Record(
    `${name}-cert-validation`,
    {
      zoneId: zoneId,
      name: option.resourceRecordName,
      type: option.resourceRecordType,
      records: [option.resourceRecordValue],
      ttl: 300,
      allowOverwrite: true,
    },
    { parent },
  );
  const validation = new aws.acm.CertificateValidation(
    `${name}-cert`,
    { certificateArn: certificate.arn, validationRecordFqdns: [validationRecord.fqdn] },
    { parent },
  );
  return validation.certificateArn;
}
