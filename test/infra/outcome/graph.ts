import type { Recorded } from '../harness.js';

/**
 * The resource graph a Pulumi program registered: each resource with its inputs, the id and outputs
 * the engine (here: the mocks) gave it, and the resources the engine must create first. Everything
 * in `outcome/` reads the program through this one type, so a hand-built graph in a unit test and a
 * captured program run are interchangeable.
 */
export type Resource = Pick<Recorded, 'type' | 'name' | 'inputs' | 'id' | 'state' | 'urn' | 'dependencies'> &
  Partial<Pick<Recorded, 'provider' | 'ignoreChanges' | 'read'>>;

/** The type tokens the model reads, named once. */
export const T = {
  vpc: 'aws:ec2/vpc:Vpc',
  subnet: 'aws:ec2/subnet:Subnet',
  routeTable: 'aws:ec2/routeTable:RouteTable',
  route: 'aws:ec2/route:Route',
  routeTableAssociation: 'aws:ec2/routeTableAssociation:RouteTableAssociation',
  internetGateway: 'aws:ec2/internetGateway:InternetGateway',
  natGateway: 'aws:ec2/natGateway:NatGateway',
  vpcEndpoint: 'aws:ec2/vpcEndpoint:VpcEndpoint',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  securityGroupRule: 'aws:ec2/securityGroupRule:SecurityGroupRule',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  egressRule: 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule',
  loadBalancer: 'aws:lb/loadBalancer:LoadBalancer',
  listener: 'aws:lb/listener:Listener',
  listenerRule: 'aws:lb/listenerRule:ListenerRule',
  targetGroup: 'aws:lb/targetGroup:TargetGroup',
  ecsService: 'aws:ecs/service:Service',
  privateDnsNamespace: 'aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace',
  discoveryService: 'aws:servicediscovery/service:Service',
  taskDefinition: 'aws:ecs/taskDefinition:TaskDefinition',
  secret: 'aws:secretsmanager/secret:Secret',
  secretVersion: 'aws:secretsmanager/secretVersion:SecretVersion',
  replicationGroup: 'aws:elasticache/replicationGroup:ReplicationGroup',
  cacheSubnetGroup: 'aws:elasticache/subnetGroup:SubnetGroup',
  randomPassword: 'random:index/randomPassword:RandomPassword',
  eksCluster: 'aws:eks/cluster:Cluster',
  nodeGroup: 'aws:eks/nodeGroup:NodeGroup',
  addon: 'aws:eks/addon:Addon',
  podIdentityAssociation: 'aws:eks/podIdentityAssociation:PodIdentityAssociation',
  helmRelease: 'kubernetes:helm.sh/v3:Release',
  namespace: 'kubernetes:core/v1:Namespace',
  k8sSecret: 'kubernetes:core/v1:Secret',
  k8sService: 'kubernetes:core/v1:Service',
  deployment: 'kubernetes:apps/v1:Deployment',
  ingress: 'kubernetes:networking.k8s.io/v1:Ingress',
  networkPolicy: 'kubernetes:networking.k8s.io/v1:NetworkPolicy',
} as const;

export class ResourceGraph {
  private readonly byUrnIndex = new Map<string, Resource>();

  constructor(readonly resources: readonly Resource[]) {
    for (const resource of resources) if (resource.urn) this.byUrnIndex.set(resource.urn, resource);
  }

  ofType(type: string): Resource[] {
    return this.resources.filter((resource) => resource.type === type);
  }

  find(type: string, name: string): Resource | undefined {
    return this.resources.find((resource) => resource.type === type && resource.name === name);
  }

  /**
   * The resource of `type` that a value in some other resource's inputs points at: its id, its ARN,
   * or its name (what Pulumi Outputs such as `sg.id` or `secret.arn` resolved to).
   */
  byRef(type: string, ref: unknown): Resource | undefined {
    if (typeof ref !== 'string' || ref === '') return undefined;
    return this.ofType(type).find(
      (resource) => resource.id === ref || resource.state.arn === ref || resource.state.name === ref,
    );
  }

  byUrn(urn: string): Resource | undefined {
    return this.byUrnIndex.get(urn);
  }

  /**
   * Everything the engine creates before `resource`: the transitive closure of its dependencies.
   * Pulumi creates a resource only after every resource it depends on (explicitly through
   * `dependsOn`, or implicitly through an Output among its inputs) has been created
   * (https://www.pulumi.com/docs/iac/concepts/options/dependson/).
   */
  prerequisites(resource: Resource): Resource[] {
    const seen = new Set<string>();
    const found: Resource[] = [];
    // A resource is created with its provider, which the engine creates first (after the provider's
    // own dependencies).
    const queue = [...resource.dependencies, ...(resource.provider ? [resource.provider] : [])];
    while (queue.length > 0) {
      const urn = queue.shift() as string;
      if (seen.has(urn)) continue;
      seen.add(urn);
      const dependency = this.byUrn(urn);
      if (!dependency) continue;
      found.push(dependency);
      queue.push(...dependency.dependencies, ...(dependency.provider ? [dependency.provider] : []));
    }
    return found;
  }
}

/** `urn:pulumi:<stack>::<project>::<parent$…$type>::<name>` → the resource's own type and name. */
export function parseUrn(urn: string): { type: string; name: string } {
  const parts = urn.split('::');
  const qualifiedType = parts[2] ?? '';
  return { type: qualifiedType.split('$').pop() ?? '', name: parts.slice(3).join('::') };
}

/** `type name`, how every message of the model names a resource. */
export function label(resource: Pick<Resource, 'type' | 'name'>): string {
  const short = resource.type.split(':').pop() ?? resource.type;
  return `${short} ${resource.name}`;
}
