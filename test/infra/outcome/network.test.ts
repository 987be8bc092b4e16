import { describe, expect, it } from 'vitest';
import { egressRule, graphOf, ingressRule, resource, securityGroup, vpc } from './fixtures.js';
import { T } from './graph.js';
import { connect, type Endpoint, type NetworkModel } from './reachability.js';

const model = (...resources: Parameters<typeof graphOf>): NetworkModel => ({
  graph: graphOf(...resources),
  externalGroups: [],
  policies: [],
  policiesEnforced: false,
});
const task: Endpoint = {
  name: 'task',
  eni: { subnetId: 'private-id', ip: '10.0.128.10', securityGroupIds: ['task-sg-id'], publicIp: false },
};
const redis: Endpoint = {
  name: 'redis',
  eni: { subnetId: 'private-id', ip: '10.0.128.30', securityGroupIds: ['redis-sg-id'], publicIp: false },
};
const secrets: Endpoint = {
  name: 'secretsmanager',
  awsService: { service: 'secretsmanager', region: 'eu-west-1' },
};
const redisAdmitsTasks = ingressRule('redis-in', 'redis-sg-id', {
  fromPort: 6379,
  toPort: 6379,
  referencedSecurityGroupId: 'task-sg-id',
});

describe('security groups', () => {
  it('a group the program creates without egress rules lets nothing out, even to a group that admits it', () => {
    const verdict = connect(
      model(vpc(), securityGroup('task-sg'), securityGroup('redis-sg'), redisAdmitsTasks),
      task,
      redis,
      6379,
    );
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(
      /no egress rule of security group task-sg-id allows tcp\/6379/,
    );
  });

  it('an egress rule by group reference and an ingress rule by group reference together open the path', () => {
    const out = egressRule('task-to-redis', 'task-sg-id', {
      fromPort: 6379,
      toPort: 6379,
      referencedSecurityGroupId: 'redis-sg-id',
    });
    expect(
      connect(
        model(vpc(), securityGroup('task-sg'), securityGroup('redis-sg'), redisAdmitsTasks, out),
        task,
        redis,
        6379,
      ).ok,
    ).toBe(true);
    // The reference is to a group, not to "anything in the VPC": another port or another source stays shut.
    expect(
      connect(
        model(vpc(), securityGroup('task-sg'), securityGroup('redis-sg'), redisAdmitsTasks, out),
        task,
        redis,
        6380,
      ).ok,
    ).toBe(false);
    const stranger: Endpoint = {
      name: 'other',
      eni: { ...(task.eni as NonNullable<Endpoint['eni']>), securityGroupIds: ['other-sg-id'] },
    };
    const strangerOut = egressRule('other-out', 'other-sg-id', { ipProtocol: '-1', cidrIpv4: '0.0.0.0/0' });
    const verdict = connect(
      model(vpc(), securityGroup('other-sg'), securityGroup('redis-sg'), redisAdmitsTasks, strangerOut),
      stranger,
      redis,
      6379,
    );
    expect(!verdict.ok && verdict.reason).toMatch(
      /no ingress rule of security group redis-sg-id admits other/,
    );
  });

  it('reads inline rules and aws.ec2.SecurityGroupRule as well as the standalone vpc rules', () => {
    const inline = securityGroup('task-sg', {
      egress: [{ protocol: 'tcp', fromPort: 6379, toPort: 6379, securityGroups: ['redis-sg-id'] }],
    });
    const legacy = resource(T.securityGroupRule, 'legacy-in', {
      type: 'ingress',
      securityGroupId: 'redis-sg-id',
      protocol: 'tcp',
      fromPort: 6379,
      toPort: 6379,
      sourceSecurityGroupId: 'task-sg-id',
    });
    expect(connect(model(vpc(), inline, securityGroup('redis-sg'), legacy), task, redis, 6379).ok).toBe(true);
    // protocol -1 covers every port.
    const allOut = securityGroup('task-sg', {
      egress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['10.0.0.0/16'] }],
    });
    expect(connect(model(vpc(), allOut, securityGroup('redis-sg'), legacy), task, redis, 6379).ok).toBe(true);
  });
});

describe('routes to AWS services and the internet', () => {
  const https = egressRule('task-https', 'task-sg-id', { fromPort: 443, toPort: 443, cidrIpv4: '0.0.0.0/0' });

  it('a private subnet reaches a public AWS endpoint through its NAT gateway, and not without one', () => {
    const through = connect(model(vpc(), securityGroup('task-sg'), https), task, secrets, 443);
    expect(through.ok && through.path.join(' / ')).toMatch(/NatGateway nat/);
    const stuck = connect(model(vpc({ nat: false }), securityGroup('task-sg'), https), task, secrets, 443);
    expect(!stuck.ok && stuck.reason).toMatch(/no route to 192\.0\.2\.10/);
  });

  it('an interface endpoint with private DNS carries the call inside the VPC, guarded by its own security group', () => {
    const endpoint = (privateDnsEnabled: boolean) =>
      resource(T.vpcEndpoint, 'secrets-endpoint', {
        vpcId: 'vpc-id',
        serviceName: 'com.amazonaws.eu-west-1.secretsmanager',
        vpcEndpointType: 'Interface',
        privateDnsEnabled,
        subnetIds: ['private-id'],
        securityGroupIds: ['endpoint-sg-id'],
      });
    const admits = ingressRule('endpoint-in', 'endpoint-sg-id', {
      fromPort: 443,
      toPort: 443,
      referencedSecurityGroupId: 'task-sg-id',
    });
    const base = [vpc({ nat: false }), securityGroup('task-sg'), securityGroup('endpoint-sg'), https];
    expect(connect(model(...base, endpoint(true), admits), task, secrets, 443).ok).toBe(true);
    // Without the endpoint's ingress rule, its security group drops the call.
    expect(connect(model(...base, endpoint(true)), task, secrets, 443).ok).toBe(false);
    // Without private DNS the name still resolves to the public endpoint, which needs NAT.
    expect(connect(model(...base, endpoint(false), admits), task, secrets, 443).ok).toBe(false);
  });

  it('a gateway endpoint in the route table reaches S3 without NAT when egress allows its prefix list', () => {
    const s3: Endpoint = { name: 's3', awsService: { service: 's3', region: 'eu-west-1' } };
    const gateway = resource(
      T.vpcEndpoint,
      's3-endpoint',
      {
        vpcId: 'vpc-id',
        serviceName: 'com.amazonaws.eu-west-1.s3',
        vpcEndpointType: 'Gateway',
        routeTableIds: ['private-routes-id'],
      },
      { state: { prefixListId: 'pl-s3' } },
    );
    const toPrefixList = egressRule('task-s3', 'task-sg-id', {
      fromPort: 443,
      toPort: 443,
      prefixListId: 'pl-s3',
    });
    expect(
      connect(model(vpc({ nat: false }), securityGroup('task-sg'), gateway, toPrefixList), task, s3, 443).ok,
    ).toBe(true);
    expect(connect(model(vpc({ nat: false }), securityGroup('task-sg'), gateway), task, s3, 443).ok).toBe(
      false,
    );
  });

  it('an internet gateway route needs a public address, and an internet-facing endpoint a public subnet', () => {
    const inPublic: Endpoint = {
      name: 'public task',
      eni: { subnetId: 'public-id', ip: '10.0.0.10', securityGroupIds: ['task-sg-id'], publicIp: false },
    };
    const verdict = connect(model(vpc(), securityGroup('task-sg'), https), inPublic, secrets, 443);
    expect(!verdict.ok && verdict.reason).toMatch(/no public IP/);
    const client: Endpoint = { name: 'client', internet: { ip: '198.51.100.7' } };
    const lb = (subnetId: string): Endpoint => ({
      name: 'lb',
      eni: { subnetId, ip: '10.0.0.50', securityGroupIds: ['lb-sg-id'], publicIp: true },
    });
    const open = ingressRule('lb-443', 'lb-sg-id', { fromPort: 443, toPort: 443, cidrIpv4: '0.0.0.0/0' });
    expect(connect(model(vpc(), securityGroup('lb-sg'), open), client, lb('public-id'), 443).ok).toBe(true);
    expect(connect(model(vpc(), securityGroup('lb-sg'), open), client, lb('private-id'), 443).ok).toBe(false);
    expect(connect(model(vpc(), securityGroup('lb-sg'), open), client, lb('public-id'), 8080).ok).toBe(false);
  });

  it('a NAT gateway in a subnet without an internet route reaches nothing', () => {
    const resources = vpc().map((item) =>
      item.name === 'public-routes' ? { ...item, inputs: { ...item.inputs, routes: [] } } : item,
    );
    const verdict = connect(model(resources, securityGroup('task-sg'), https), task, secrets, 443);
    expect(!verdict.ok && verdict.reason).toMatch(/no route to an internet gateway/);
  });
});

describe('pods', () => {
  const podOn = (node: string, labels: Record<string, string>): Endpoint => ({
    name: 'pod',
    eni: { subnetId: 'private-id', ip: '10.0.128.100', securityGroupIds: [], publicIp: false },
    pod: {
      namespace: 'mcp-app',
      labels,
      namespaceLabels: { 'kubernetes.io/metadata.name': 'mcp-app' },
      node,
    },
  });
  const agent: Endpoint = { name: 'agent', nodeLocal: { ip: '169.254.170.23', node: 'node 0' } };
  const onlyHttps = {
    name: 'p',
    namespace: 'mcp-app',
    spec: { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443 }] }] },
  };
  const withAgent = {
    ...onlyHttps,
    spec: {
      ...onlyHttps.spec,
      egress: [
        ...onlyHttps.spec.egress,
        { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: [{ port: 80 }] },
      ],
    },
  };
  const pods = (policies: NetworkModel['policies'], policiesEnforced = true): NetworkModel => ({
    ...model(vpc()),
    policies,
    policiesEnforced,
  });

  it('reach the node-local Pod Identity agent only when their egress policy allows 80 to it', () => {
    const blocked = connect(pods([onlyHttps]), podOn('node 0', { app: 'x' }), agent, 80);
    expect(!blocked.ok && blocked.reason).toMatch(/no rule allows tcp\/80 to 169\.254\.170\.23/);
    expect(connect(pods([withAgent]), podOn('node 0', { app: 'x' }), agent, 80).ok).toBe(true);
    // A policy the plugin does not enforce blocks nothing; another node's agent is not reachable.
    expect(connect(pods([onlyHttps], false), podOn('node 0', { app: 'x' }), agent, 80).ok).toBe(true);
    expect(connect(pods([withAgent]), podOn('node 1', { app: 'x' }), agent, 80).ok).toBe(false);
  });
});
