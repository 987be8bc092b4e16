import { addressIn, cidrContains, prefixLength } from './cidr.js';
import { label, type Resource, type ResourceGraph, T } from './graph.js';

/**
 * Where a packet leaving a subnet goes, as VPC route tables decide
 * (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html):
 * - "Every route table contains a local route for communication within the VPC";
 * - otherwise the most specific route that matches the destination wins (longest prefix);
 * - a subnet without an explicit association uses the VPC's main route table, which the program
 *   never adds routes to (local only);
 * - a route to an internet gateway reaches the internet only from an address with a public IP; a
 *   private subnet reaches it through a NAT gateway that sits in a subnet whose own route table
 *   sends 0.0.0.0/0 to the internet gateway
 *   (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-scenarios.html);
 * - a gateway VPC endpoint (S3, DynamoDB) adds a route to the service's prefix list in the route
 *   tables it is associated with (https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html);
 * - an interface VPC endpoint with private DNS makes the service's regional name resolve to the
 *   endpoint's network interfaces in the VPC, which its security groups guard
 *   (https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html).
 */

export interface Route {
  /** A CIDR, or a prefix list (gateway endpoint). */
  destination: { cidr: string } | { prefixListId: string };
  target: { kind: 'internet-gateway' | 'nat-gateway' | 'vpc-endpoint' | 'other'; id: string };
  origin: string;
}

export type PathResult = { ok: true; via: string } | { ok: false; reason: string };

function subnet(graph: ResourceGraph, subnetId: string): Resource {
  const found = graph.byRef(T.subnet, subnetId);
  if (!found) throw new Error(`no subnet ${subnetId} in the graph`);
  return found;
}

export function vpcCidrOf(graph: ResourceGraph, subnetId: string): string {
  const vpc = graph.byRef(T.vpc, subnet(graph, subnetId).inputs.vpcId);
  if (!vpc) throw new Error(`subnet ${subnetId} is in no VPC of the graph`);
  return vpc.inputs.cidrBlock;
}

/** A representative private address in a subnet (AWS reserves its first four). */
export function addressInSubnet(graph: ResourceGraph, subnetId: string, host = 10): string {
  return addressIn(subnet(graph, subnetId).inputs.cidrBlock, host);
}

function routeTableOf(graph: ResourceGraph, subnetId: string): Resource | undefined {
  const association = graph
    .ofType(T.routeTableAssociation)
    .find((candidate) => candidate.inputs.subnetId === subnetId);
  return association ? graph.byRef(T.routeTable, association.inputs.routeTableId) : undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: one route block (inline or aws.ec2.Route inputs).
function toRoute(block: any, origin: string): Route | undefined {
  const cidr = block.cidrBlock ?? block.destinationCidrBlock;
  const prefixListId = block.destinationPrefixListId;
  if (!cidr && !prefixListId) return undefined;
  const [kind, id] = block.natGatewayId
    ? (['nat-gateway', block.natGatewayId] as const)
    : block.gatewayId
      ? (['internet-gateway', block.gatewayId] as const)
      : block.vpcEndpointId
        ? (['vpc-endpoint', block.vpcEndpointId] as const)
        : (['other', 'unknown'] as const);
  return { destination: cidr ? { cidr } : { prefixListId }, target: { kind, id }, origin };
}

export function routesOf(graph: ResourceGraph, subnetId: string): Route[] {
  const table = routeTableOf(graph, subnetId);
  if (!table) return [];
  const routes: Route[] = [];
  for (const block of table.inputs.routes ?? []) {
    const route = toRoute(block, label(table));
    if (route) routes.push(route);
  }
  for (const standalone of graph.ofType(T.route)) {
    if (standalone.inputs.routeTableId !== table.id) continue;
    const route = toRoute(standalone.inputs, label(standalone));
    if (route) routes.push(route);
  }
  for (const endpoint of graph.ofType(T.vpcEndpoint)) {
    if (endpoint.inputs.vpcEndpointType !== 'Gateway') continue;
    if (!(endpoint.inputs.routeTableIds ?? []).includes(table.id)) continue;
    routes.push({
      destination: { prefixListId: endpoint.state.prefixListId },
      target: { kind: 'vpc-endpoint', id: endpoint.id },
      origin: label(endpoint),
    });
  }
  return routes;
}

/** The most specific CIDR route covering `ip` (the local route has already been ruled out). */
function mostSpecific(routes: Route[], ip: string): Route | undefined {
  return routes
    .filter((route) => 'cidr' in route.destination && cidrContains(route.destination.cidr, ip))
    .sort(
      (a, b) =>
        prefixLength((b.destination as { cidr: string }).cidr) -
        prefixLength((a.destination as { cidr: string }).cidr),
    )[0];
}

function isInternetGateway(graph: ResourceGraph, id: string): boolean {
  return graph.byRef(T.internetGateway, id) !== undefined;
}

/** Can a packet from `subnetId` reach a public address `ip`? */
export function pathToInternet(
  graph: ResourceGraph,
  subnetId: string,
  ip: string,
  hasPublicIp: boolean,
): PathResult {
  const route = mostSpecific(routesOf(graph, subnetId), ip);
  if (!route)
    return { ok: false, reason: `subnet ${subnetId} has no route to ${ip} (no NAT, no internet gateway)` };
  if (route.target.kind === 'internet-gateway' && isInternetGateway(graph, route.target.id)) {
    return hasPublicIp
      ? { ok: true, via: `internet gateway (${route.origin})` }
      : {
          ok: false,
          reason: `subnet ${subnetId} routes ${ip} to an internet gateway, but the sender has no public IP`,
        };
  }
  if (route.target.kind === 'nat-gateway') {
    const nat = graph.byRef(T.natGateway, route.target.id);
    if (!nat) return { ok: false, reason: `route to NAT gateway ${route.target.id}, which the graph lacks` };
    if (nat.inputs.connectivityType === 'private') {
      return { ok: false, reason: `${label(nat)} is private: it does not reach the internet` };
    }
    const onward = mostSpecific(routesOf(graph, nat.inputs.subnetId), ip);
    if (onward?.target.kind === 'internet-gateway' && isInternetGateway(graph, onward.target.id)) {
      return { ok: true, via: label(nat) };
    }
    return {
      ok: false,
      reason: `${label(nat)} sits in subnet ${nat.inputs.subnetId}, which has no route to an internet gateway`,
    };
  }
  return {
    ok: false,
    reason: `subnet ${subnetId} routes ${ip} through ${route.origin}, which does not reach the internet`,
  };
}

/** Whether a subnet is public: its route table sends 0.0.0.0/0 to an internet gateway. */
export function isPublicSubnet(graph: ResourceGraph, subnetId: string): boolean {
  const route = mostSpecific(routesOf(graph, subnetId), '198.51.100.1');
  return route?.target.kind === 'internet-gateway' && isInternetGateway(graph, route.target.id);
}

/**
 * Where a connection to an AWS service's regional endpoint (`com.amazonaws.<region>.<service>`)
 * goes from a subnet: an interface endpoint with private DNS, a gateway endpoint in the subnet's
 * route table, or the public endpoint (through NAT or an internet gateway).
 */
export type ServiceTarget =
  | { kind: 'interface-endpoint'; ip: string; subnetId: string; securityGroupIds: string[]; endpoint: string }
  | { kind: 'gateway-endpoint'; ip: string; prefixListId: string; endpoint: string }
  | { kind: 'public'; ip: string };

/** A stand-in public address for AWS's regional service endpoints (TEST-NET-1, outside any VPC). */
export const AWS_PUBLIC_ENDPOINT_IP = '192.0.2.10';

export function serviceTarget(
  graph: ResourceGraph,
  subnetId: string,
  region: string,
  service: string,
): ServiceTarget {
  const serviceName = `com.amazonaws.${region}.${service}`;
  const vpcId = subnet(graph, subnetId).inputs.vpcId;
  for (const endpoint of graph.ofType(T.vpcEndpoint)) {
    if (endpoint.inputs.serviceName !== serviceName || endpoint.inputs.vpcId !== vpcId) continue;
    const type = endpoint.inputs.vpcEndpointType ?? 'Gateway';
    if (type === 'Interface' && endpoint.inputs.privateDnsEnabled === true) {
      const endpointSubnet = (endpoint.inputs.subnetIds ?? [])[0];
      if (!endpointSubnet) continue;
      return {
        kind: 'interface-endpoint',
        ip: addressInSubnet(graph, endpointSubnet, 20),
        subnetId: endpointSubnet,
        securityGroupIds: endpoint.inputs.securityGroupIds ?? [],
        endpoint: label(endpoint),
      };
    }
    if (type === 'Gateway') {
      const reachable = routesOf(graph, subnetId).some(
        (route) =>
          'prefixListId' in route.destination &&
          route.destination.prefixListId === endpoint.state.prefixListId,
      );
      if (reachable) {
        return {
          kind: 'gateway-endpoint',
          ip: AWS_PUBLIC_ENDPOINT_IP,
          prefixListId: endpoint.state.prefixListId,
          endpoint: label(endpoint),
        };
      }
    }
  }
  return { kind: 'public', ip: AWS_PUBLIC_ENDPOINT_IP };
}
