import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import { CLOUD_MAP_NAMESPACE } from '../shared/upstreams.js';

/**
 * How the app's gateway finds and reaches third-party servers on ECS, and nothing else does:
 * - one Cloud Map private DNS namespace in the stack's VPC (a Route 53 private hosted zone that the
 *   VPC's resolver answers; the VPC has DNS support and hostnames on);
 * - one Cloud Map service per upstream, with one A record per task (MULTIVALUE: every healthy
 *   record, at most eight, in each answer; the config check caps such a server at eight tasks);
 * - the upstream's tasks admit the app's tasks on the server's port, and nothing else: no ALB target
 *   group or listener rule exists for them, and their security group has no other inbound rule.
 */

/**
 * The TTL of each A record. The gateway re-resolves every 5 s (UPSTREAMS `refreshSeconds`); the VPC
 * resolver caches an answer this long, so a new task takes up to TTL + 5 s to receive new sessions.
 */
export const RECORD_TTL_SECONDS = 5;

export function cloudMapNamespace(
  parent: pulumi.Resource,
  name: string,
  args: { vpcId: pulumi.Input<string>; tags: Record<string, string> },
): aws.servicediscovery.PrivateDnsNamespace {
  return new aws.servicediscovery.PrivateDnsNamespace(
    `${name}-upstreams`,
    {
      name: CLOUD_MAP_NAMESPACE,
      vpc: args.vpcId,
      description: "Third-party MCP servers, reached only through the app's gateway",
      tags: args.tags,
    },
    { parent },
  );
}

/** The Cloud Map service whose A records are the tasks of upstream `server`. */
export function discoveryService(
  parent: pulumi.Resource,
  server: string,
  args: { namespaceId: pulumi.Input<string>; tags: Record<string, string> },
): aws.servicediscovery.Service {
  return new aws.servicediscovery.Service(
    `${server}-discovery`,
    {
      name: server,
      dnsConfig: {
        namespaceId: args.namespaceId,
        dnsRecords: [{ type: 'A', ttl: RECORD_TTL_SECONDS }],
        routingPolicy: 'MULTIVALUE',
      },
      // ECS reports each task's health here (a custom health check: Route 53 cannot check private
      // addresses), so the answer holds running tasks only.
      healthCheckCustomConfig: {},
      // A stack being destroyed may still have tasks registered; ECS deregisters them, but not
      // always before Pulumi deletes the service.
      forceDestroy: true,
      tags: args.tags,
    },
    { parent },
  );
}

/** The app's tasks open connections to the upstream's tasks on `port`; both groups say so. */
export function allowAppToUpstream(
  parent: pulumi.Resource,
  args: {
    app: string;
    appSecurityGroupId: pulumi.Input<string>;
    upstream: string;
    upstreamSecurityGroupId: pulumi.Input<string>;
    port: number;
  },
): void {
  new aws.vpc.SecurityGroupEgressRule(
    `${args.app}-to-${args.upstream}`,
    {
      securityGroupId: args.appSecurityGroupId,
      referencedSecurityGroupId: args.upstreamSecurityGroupId,
      ipProtocol: 'tcp',
      fromPort: args.port,
      toPort: args.port,
      description: `${args.app}'s gateway to ${args.upstream}`,
    },
    { parent },
  );
  new aws.vpc.SecurityGroupIngressRule(
    `${args.upstream}-from-${args.app}`,
    {
      securityGroupId: args.upstreamSecurityGroupId,
      referencedSecurityGroupId: args.appSecurityGroupId,
      ipProtocol: 'tcp',
      fromPort: args.port,
      toPort: args.port,
      description: `${args.upstream} from ${args.app}'s gateway`,
    },
    { parent },
  );
}
