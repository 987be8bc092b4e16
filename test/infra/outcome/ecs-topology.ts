import { label, type Resource, type ResourceGraph, T } from './graph.js';
import { containersOf } from './ordering.js';
import type { Endpoint, NetworkModel } from './reachability.js';
import { addressInSubnet } from './routing.js';

/**
 * The ECS platform as the network sees it: every service's tasks (a network interface in the
 * service's subnets with the service's security groups, `awsvpc` mode), the ALB, the Redis nodes,
 * AWS's regional services and the internet.
 */

export interface EcsServer {
  name: string;
  service: Resource;
  taskDefinition: Resource;
  // biome-ignore lint/suspicious/noExplicitAny: container definitions as registered.
  containers: any[];
  /** A task of the service in each of its subnets (ECS spreads tasks across them). */
  tasks: Endpoint[];
  /** The task in the first subnet, for paths that do not depend on the subnet. */
  task: Endpoint;
}

export interface EcsTopology {
  model: NetworkModel;
  region: string;
  internet: Endpoint;
  alb: { resource: Resource; endpoint: Endpoint; listeners: Resource[] };
  redis?: { endpoint: Endpoint; port: number };
  servers: Map<string, EcsServer>;
  aws(service: string): Endpoint;
}

/** A client on the internet (TEST-NET-2). */
export const INTERNET_CLIENT: Endpoint = { name: 'an internet client', internet: { ip: '198.51.100.7' } };

/** The ElastiCache primary: a network interface in its subnet group's first subnet, with its security groups. */
export function redisPrimary(graph: ResourceGraph): { endpoint: Endpoint; port: number } | undefined {
  const group = graph.ofType(T.replicationGroup)[0];
  const subnetId =
    group && graph.byRef(T.cacheSubnetGroup, group.inputs.subnetGroupName)?.inputs.subnetIds?.[0];
  if (!group || !subnetId) return undefined;
  return {
    port: Number(group.inputs.port ?? 6379),
    endpoint: {
      name: 'the Redis primary',
      eni: {
        subnetId,
        ip: addressInSubnet(graph, subnetId, 30),
        securityGroupIds: group.inputs.securityGroupIds ?? [],
        publicIp: false,
      },
    },
  };
}

function serverName(service: Resource): string {
  return service.inputs.tags?.['mcp-fleet/server'] ?? service.name.replace(/-service$/, '');
}

export function ecsTopology(graph: ResourceGraph, region: string): EcsTopology {
  const model: NetworkModel = { graph, externalGroups: [], policies: [], policiesEnforced: false };
  const servers = new Map<string, EcsServer>();
  graph.ofType(T.ecsService).forEach((service, index) => {
    const network = service.inputs.networkConfiguration ?? {};
    const subnets: string[] = network.subnets ?? [];
    const taskDefinition = graph.byRef(T.taskDefinition, service.inputs.taskDefinition);
    if (subnets.length === 0 || !taskDefinition)
      throw new Error(`${label(service)} has no subnet or task definition`);
    const name = serverName(service);
    const tasks = subnets.map((subnetId, zone) => ({
      name: `a task of ${name} in ${subnetId}`,
      eni: {
        subnetId,
        ip: addressInSubnet(graph, subnetId, 100 + index * 10 + zone),
        securityGroupIds: network.securityGroups ?? [],
        publicIp: network.assignPublicIp === true,
      },
    }));
    servers.set(name, {
      name,
      service,
      taskDefinition,
      containers: containersOf(taskDefinition),
      tasks,
      task: tasks[0] as Endpoint,
    });
  });

  const albResource = graph
    .ofType(T.loadBalancer)
    .find((lb) => (lb.inputs.loadBalancerType ?? 'application') === 'application');
  if (!albResource) throw new Error('no application load balancer in the graph');
  const albSubnet = albResource.inputs.subnets[0];
  const alb = {
    resource: albResource,
    endpoint: {
      name: 'the ALB',
      eni: {
        subnetId: albSubnet,
        ip: addressInSubnet(graph, albSubnet, 50),
        securityGroupIds: albResource.inputs.securityGroups ?? [],
        // An internet-facing ALB has a public address in each of its subnets.
        publicIp: albResource.inputs.internal !== true,
      },
    },
    listeners: graph
      .ofType(T.listener)
      .filter((listener) => listener.inputs.loadBalancerArn === albResource.state.arn),
  };

  return {
    model,
    region,
    internet: INTERNET_CLIENT,
    alb,
    redis: redisPrimary(graph),
    servers,
    aws: (service) => ({ name: `AWS ${service}`, awsService: { service, region } }),
  };
}
