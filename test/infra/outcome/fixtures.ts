import { type Resource, ResourceGraph, T } from './graph.js';

/**
 * Hand-built graphs for the model's own tests, shaped like what the harness records: a resource's
 * id is `<name>-id`, its ARN names its type and name, and its dependencies are URNs.
 */

// biome-ignore lint/suspicious/noExplicitAny: inputs are free-form, as in a recorded run.
type Inputs = Record<string, any>;

export function resource(
  type: string,
  name: string,
  inputs: Inputs = {},
  options: { state?: Inputs; dependsOn?: Resource[] } = {},
): Resource {
  return {
    type,
    name,
    inputs,
    id: `${name}-id`,
    state: { ...inputs, arn: `arn:test:${type}/${name}`, name: inputs.name ?? name, ...options.state },
    urn: `urn:pulumi:test::test::${type}::${name}`,
    dependencies: (options.dependsOn ?? []).map((dependency) => dependency.urn as string),
  };
}

export function graphOf(...groups: (Resource | Resource[])[]): ResourceGraph {
  return new ResourceGraph(groups.flat());
}

/**
 * A VPC 10.0.0.0/16 with a public subnet (route to an internet gateway, holding a NAT gateway) and a
 * private subnet; the private route table sends 0.0.0.0/0 to the NAT only when `nat` is true.
 */
export function vpc(options: { nat?: boolean } = {}): Resource[] {
  const network = resource(T.vpc, 'vpc', { cidrBlock: '10.0.0.0/16' });
  const igw = resource(T.internetGateway, 'igw', { vpcId: 'vpc-id' });
  const publicSubnet = resource(T.subnet, 'public', { vpcId: 'vpc-id', cidrBlock: '10.0.0.0/20' });
  const privateSubnet = resource(T.subnet, 'private', { vpcId: 'vpc-id', cidrBlock: '10.0.128.0/20' });
  const nat = resource(T.natGateway, 'nat', { subnetId: 'public-id' });
  const publicRoutes = resource(T.routeTable, 'public-routes', {
    vpcId: 'vpc-id',
    routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: 'igw-id' }],
  });
  const privateRoutes = resource(T.routeTable, 'private-routes', {
    vpcId: 'vpc-id',
    routes: options.nat === false ? [] : [{ cidrBlock: '0.0.0.0/0', natGatewayId: 'nat-id' }],
  });
  return [
    network,
    igw,
    publicSubnet,
    privateSubnet,
    nat,
    publicRoutes,
    privateRoutes,
    resource(T.routeTableAssociation, 'public-assoc', {
      subnetId: 'public-id',
      routeTableId: 'public-routes-id',
    }),
    resource(T.routeTableAssociation, 'private-assoc', {
      subnetId: 'private-id',
      routeTableId: 'private-routes-id',
    }),
  ];
}

export function securityGroup(name: string, inputs: Inputs = {}): Resource {
  return resource(T.securityGroup, name, { vpcId: 'vpc-id', ...inputs });
}

export function egressRule(name: string, groupId: string, inputs: Inputs): Resource {
  return resource(T.egressRule, name, { securityGroupId: groupId, ipProtocol: 'tcp', ...inputs });
}

export function ingressRule(name: string, groupId: string, inputs: Inputs): Resource {
  return resource(T.ingressRule, name, { securityGroupId: groupId, ipProtocol: 'tcp', ...inputs });
}
