import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { OPERATIONS_PATHS } from '../shared/public-routes.js';

export interface LoadBalancerArgs {
  vpcId: pulumi.Input<string>;
  /** Public subnets, one per AZ. */
  subnetIds: pulumi.Input<string>[];
  /** With an ACM certificate the ALB serves HTTPS and redirects HTTP to it; without, plain HTTP. */
  certificateArn?: pulumi.Input<string>;
  /** Seconds an idle connection stays open; SSE streams need far more than the 60 s default. */
  idleTimeoutSeconds: number;
  /** Refuse to delete the ALB (production). */
  deletionProtection: boolean;
  tags: Record<string, string>;
}

/** TLS 1.2+ with TLS 1.3 preferred; AWS's recommended policy for new listeners. */
export const SSL_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

/** The one public ALB in front of every server; servers attach host/path rules to `listenerArn`. */
export class LoadBalancer extends pulumi.ComponentResource {
  readonly securityGroupId: pulumi.Output<string>;
  readonly arnSuffix: pulumi.Output<string>;
  readonly dnsName: pulumi.Output<string>;
  /** The ALB's canonical hosted zone, for alias records. */
  readonly zoneId: pulumi.Output<string>;
  /** The listener that routes to servers (HTTPS when a certificate is configured). */
  readonly listenerArn: pulumi.Output<string>;
  readonly listener: aws.lb.Listener;
  readonly scheme: 'http' | 'https';
  private readonly name: string;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:ecs:LoadBalancer', name, {}, opts);
    this.name = name;
    const built = buildLoadBalancer(this, name, args);
    this.securityGroupId = built.securityGroup.id;
    this.arnSuffix = built.alb.arnSuffix;
    this.dnsName = built.alb.dnsName;
    this.zoneId = built.alb.zoneId;
    this.listener = built.listener;
    this.listenerArn = built.listener.arn;
    this.scheme = args.certificateArn ? 'https' : 'http';
    this.registerOutputs({ dnsName: this.dnsName });
  }

  /** Lets the ALB reach one target security group on one port, and nothing else. */
  allowTo(
    label: string,
    targetSecurityGroupId: pulumi.Input<string>,
    port: number,
    parent: pulumi.Resource,
  ): void {
    new aws.vpc.SecurityGroupEgressRule(
      `${this.name}-to-${label}`,
      {
        securityGroupId: this.securityGroupId,
        referencedSecurityGroupId: targetSecurityGroupId,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        description: `ALB to ${label}`,
      },
      { parent },
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${label}-from-${this.name}`,
      {
        securityGroupId: targetSecurityGroupId,
        referencedSecurityGroupId: this.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        description: `${label} from the ALB`,
      },
      { parent },
    );
  }
}

function buildLoadBalancer(parent: pulumi.Resource, name: string, args: LoadBalancerArgs) {
  const opts = { parent };
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-sg`,
    { vpcId: args.vpcId, description: 'Public ALB for the MCP servers', tags: args.tags },
    opts,
  );
  // The ALB is the only thing open to the internet, and only on the listener ports.
  const listenerPorts = args.certificateArn ? [80, 443] : [80];
  for (const port of listenerPorts) {
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-in-${port}`,
      {
        securityGroupId: securityGroup.id,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        cidrIpv4: '0.0.0.0/0',
      },
      opts,
    );
  }

  const alb = new aws.lb.LoadBalancer(
    `${name}-alb`,
    {
      loadBalancerType: 'application',
      internal: false,
      ipAddressType: 'ipv4',
      securityGroups: [securityGroup.id],
      subnets: args.subnetIds,
      idleTimeout: args.idleTimeoutSeconds,
      enableHttp2: true,
      dropInvalidHeaderFields: true,
      enableDeletionProtection: args.deletionProtection,
      tags: args.tags,
    },
    opts,
  );
  // Requests that match no server's host/path get a 404 rather than some arbitrary server.
  const notFound: aws.types.input.lb.ListenerDefaultAction = {
    type: 'fixed-response',
    fixedResponse: {
      contentType: 'application/json',
      statusCode: '404',
      messageBody: '{"error":"no MCP server here"}',
    },
  };

  if (!args.certificateArn) {
    const listener = new aws.lb.Listener(
      `${name}-http`,
      { loadBalancerArn: alb.arn, port: 80, protocol: 'HTTP', defaultActions: [notFound], tags: args.tags },
      opts,
    );
    keepPrivatePathsPrivate(name, listener, notFound, args.tags, opts);
    return { securityGroup, alb, listener };
  }
  const listener = new aws.lb.Listener(
    `${name}-https`,
    {
      loadBalancerArn: alb.arn,
      port: 443,
      protocol: 'HTTPS',
      certificateArn: args.certificateArn,
      sslPolicy: SSL_POLICY,
      defaultActions: [notFound],
      tags: args.tags,
    },
    opts,
  );
  keepPrivatePathsPrivate(name, listener, notFound, args.tags, opts);
  new aws.lb.Listener(
    `${name}-http`,
    {
      loadBalancerArn: alb.arn,
      port: 80,
      protocol: 'HTTP',
      defaultActions: [
        { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } },
      ],
      tags: args.tags,
    },
    opts,
  );
  return { securityGroup, alb, listener };
}

/**
 * Paths the app serves to operators, probes and scrapers, never to the internet (five values: an
 * ALB rule's limit). The servers' own rules route only what clients need
 * (infra/shared/public-routes.ts), so these already fall to the 404 default action; this rule keeps
 * them refused even if a route grows a wildcard.
 */
export const PRIVATE_PATHS = [...OPERATIONS_PATHS, '/metrics/*'];

/**
 * 404 at the internet-facing listener for the operations routes, before every server's route
 * (priority 1; routes start at 100). Target-group health checks reach the tasks directly, and on ECS
 * the app serves /metrics on METRICS_PORT, which no listener forwards to.
 */
function keepPrivatePathsPrivate(
  name: string,
  listener: aws.lb.Listener,
  notFound: aws.types.input.lb.ListenerDefaultAction,
  tags: Record<string, string> | undefined,
  opts: pulumi.CustomResourceOptions,
): aws.lb.ListenerRule {
  return new aws.lb.ListenerRule(
    `${name}-private-paths`,
    {
      listenerArn: listener.arn,
      priority: 1,
      conditions: [{ pathPattern: { values: PRIVATE_PATHS } }],
      actions: [notFound],
      tags,
    },
    opts,
  );
}
