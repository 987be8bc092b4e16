import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface NetworkArgs {
  /** The VPC's IPv4 block; subnets are carved from it as /20s (a /16 leaves room for 16). */
  cidr: string;
  /** How many availability zones get a public and a private subnet (at least 2). */
  azCount: number;
  /** The AZ names, pinned in the stack; unset: looked up (standard AZs only). */
  availabilityZones?: string[];
  /** NAT egress for private subnets: one gateway, or one per AZ. */
  nat: 'single' | 'perAz';
  /** Tags applied to every network resource. */
  tags: Record<string, string>;
}

/** A VPC with public subnets (load balancers, NAT) and private subnets (tasks, pods, Redis) across AZs. */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly cidr: string;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:foundation:Network', name, {}, opts);
    const built = buildNetwork(this, name, args);
    this.vpcId = built.vpc.id;
    this.cidr = args.cidr;
    this.publicSubnetIds = built.publicSubnets.map((subnet) => subnet.id);
    this.privateSubnetIds = built.privateSubnets.map((subnet) => subnet.id);
    this.registerOutputs({ vpcId: this.vpcId });
  }
}

function buildNetwork(parent: pulumi.Resource, name: string, args: NetworkArgs) {
  const opts = { parent };
  // Pinned names never move. The lookup leaves out Local and Wavelength Zones (opt-in), which would
  // otherwise shift every subnet index once the account opts into one ("DescribeAvailabilityZones",
  // EC2 API: opt-in-status filter).
  const zones = args.availabilityZones
    ? pulumi.output(args.availabilityZones)
    : aws.getAvailabilityZonesOutput(
        { state: 'available', filters: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }] },
        opts,
      ).names;
  const tags = (suffix: string, extra: Record<string, string> = {}) => ({
    ...args.tags,
    ...extra,
    Name: `${name}-${suffix}`,
  });

  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags('vpc') },
    opts,
  );
  const gateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags('igw') }, opts);
  const publicRoutes = new aws.ec2.RouteTable(
    `${name}-public`,
    { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }], tags: tags('public') },
    opts,
  );

  const publicSubnets: aws.ec2.Subnet[] = [];
  const privateSubnets: aws.ec2.Subnet[] = [];
  const natGateways: aws.ec2.NatGateway[] = [];
  for (let index = 0; index < args.azCount; index++) {
    const zone = zones.apply((names) => {
      const zoneName = names[index];
      if (!zoneName)
        throw new Error(`the region has ${names.length} standard AZs; vpc.azCount asks for ${args.azCount}`);
      return zoneName;
    });
    const publicSubnet = new aws.ec2.Subnet(
      `${name}-public-${index}`,
      {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock: subnetCidr(args.cidr, 4, index),
        // Nothing in a public subnet needs an address of its own: the ALB/NLB and NAT get theirs.
        mapPublicIpOnLaunch: false,
        tags: tags(`public-${index}`, { 'kubernetes.io/role/elb': '1', tier: 'public' }),
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-public-${index}`,
      { subnetId: publicSubnet.id, routeTableId: publicRoutes.id },
      opts,
    );
    publicSubnets.push(publicSubnet);

    if (args.nat === 'perAz' || (args.nat === 'single' && index === 0)) {
      const address = new aws.ec2.Eip(
        `${name}-nat-${index}`,
        { domain: 'vpc', tags: tags(`nat-${index}`) },
        opts,
      );
      natGateways.push(
        new aws.ec2.NatGateway(
          `${name}-nat-${index}`,
          { allocationId: address.id, subnetId: publicSubnet.id, tags: tags(`nat-${index}`) },
          { parent, dependsOn: [gateway] },
        ),
      );
    }

    const privateSubnet = new aws.ec2.Subnet(
      `${name}-private-${index}`,
      {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock: subnetCidr(args.cidr, 4, 8 + index),
        tags: tags(`private-${index}`, { 'kubernetes.io/role/internal-elb': '1', tier: 'private' }),
      },
      opts,
    );
    // perAz keeps each AZ's egress inside that AZ; single routes every AZ through gateway 0.
    const nat = natGateways[args.nat === 'perAz' ? index : 0];
    const privateRoutes = new aws.ec2.RouteTable(
      `${name}-private-${index}`,
      {
        vpcId: vpc.id,
        routes: nat ? [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }] : [],
        tags: tags(`private-${index}`),
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-private-${index}`,
      { subnetId: privateSubnet.id, routeTableId: privateRoutes.id },
      opts,
    );
    privateSubnets.push(privateSubnet);
  }
  return { vpc, publicSubnets, privateSubnets };
}

/** The `index`-th subnet of `cidr` with `newBits` more prefix bits (like Terraform's cidrsubnet). */
export function subnetCidr(cidr: string, newBits: number, index: number): string {
  const [address = '', prefixText = ''] = cidr.split('/');
  const prefix = Number(prefixText) + newBits;
  if (prefix > 28) throw new Error(`${cidr} is too small for ${2 ** newBits} subnets`);
  const base = address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
  const value = base + index * 2 ** (32 - prefix);
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256);
  return `${octets.join('.')}/${prefix}`;
}
