import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { vi } from 'vitest';
import { parse } from 'yaml';

/**
 * Runs the real Pulumi program (infra/index.ts) against mocks: every resource it registers is
 * recorded with its inputs, nothing touches AWS. The Pulumi runtime is process-wide state: runs in one
 * file happen one after the other, and each later run re-imports the program (`vi.resetModules`).
 */

export type Stack = 'staging' | 'production';

export interface Recorded {
  type: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: resource inputs are arbitrary JSON that each test narrows.
  inputs: Record<string, any>;
  /** Input paths (dot-separated) whose values were marked secret. */
  secretPaths: string[];
  /** The id and output state the mocks gave it (what other resources see of it). */
  id: string;
  // biome-ignore lint/suspicious/noExplicitAny: output state is arbitrary JSON, like inputs.
  state: Record<string, any>;
  /** Its URN, once the engine stand-in has answered. */
  urn?: string;
  /**
   * URNs of every resource the engine must create before this one: explicit `dependsOn` (a component
   * expanded to its children) and implicit ones (Outputs among the inputs). This is the `dependencies`
   * field of the RegisterResource request, which the engine orders creation by; mocks never pass it to
   * `newResource`, so the harness reads it from the request (see `recordDependencies`).
   */
  dependencies: string[];
  /**
   * The URN of the provider the resource is created with (the request's `provider` reference,
   * `<urn>::<id>`): the engine creates that provider, after its own dependencies, first.
   */
  provider?: string;
  /** Input paths the program told the engine to ignore changes of (`ignoreChanges`). */
  ignoreChanges: string[];
  /** A read of an existing object (`Resource.get`), not a resource the program manages. */
  read: boolean;
}

const SECRET_SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

/** The mock monitor sees secrets as `{ [sig]: secretSig, value }`; unwrap them and note where they were. */
function unwrapSecrets(value: unknown, path: string, secretPaths: string[]): unknown {
  if (Array.isArray(value))
    return value.map((item, index) => unwrapSecrets(item, join(path, `${index}`), secretPaths));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG_KEY] === SECRET_SIG) {
      secretPaths.push(path);
      return unwrapSecrets(record.value, path, secretPaths);
    }
    return Object.fromEntries(
      Object.entries(record).map(([key, item]) => [key, unwrapSecrets(item, join(path, key), secretPaths)]),
    );
  }
  return value;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Distinctive fake values, so a test can prove they never appear in plaintext. */
export const FAKE_SECRET_PREFIX = 'FAKE-SECRET-';

/** Reads Pulumi.<stack>.yaml into raw config (keys without `mcp-fleet:`), secure values faked. */
export function readStackConfig(stack: Stack): Record<string, unknown> {
  const file = parse(readFileSync(new URL(`../../Pulumi.${stack}.yaml`, import.meta.url), 'utf8')) as {
    config: Record<string, unknown>;
  };
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(file.config)) {
    if (key.startsWith('mcp-fleet:')) raw[key.slice('mcp-fleet:'.length)] = fakeSecure(value, key);
  }
  return raw;
}

function fakeSecure(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.map((item, index) => fakeSecure(item, `${path}.${index}`));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (Object.keys(record).length === 1 && typeof record.secure === 'string') {
      return `${FAKE_SECRET_PREFIX}${path.split('.').pop()}`;
    }
    return Object.fromEntries(
      Object.entries(record).map(([key, item]) => [key, fakeSecure(item, `${path}.${key}`)]),
    );
  }
  return value;
}

/** Resolves an Output in a test; never call done() inside apply. */
export function promiseOf<T>(output: pulumi.Output<T> | undefined): Promise<T | undefined> {
  if (!output) return Promise.resolve(undefined);
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const base = {
    ...inputs,
    arn: `arn:aws:mock:eu-west-1:111122223333:${type}/${name}`,
    name: inputs.name ?? name,
  };
  switch (type) {
    case 'aws:lb/loadBalancer:LoadBalancer':
      return {
        ...base,
        dnsName: `${name}.eu-west-1.elb.amazonaws.com`,
        arnSuffix: `app/${name}/0123`,
        zoneId: 'Z32O12XQLNTSW2',
      };
    case 'random:index/randomId:RandomId':
      return { ...base, hex: createHash('sha256').update(name).digest('hex').slice(0, 8) };
    case 'aws:acm/certificate:Certificate':
      return {
        ...base,
        domainValidationOptions: [inputs.domainName, ...(inputs.subjectAlternativeNames as string[])].map(
          (domainName) => ({
            domainName,
            resourceRecordName: `_0123.${inputs.domainName}.`,
            resourceRecordType: 'CNAME',
            resourceRecordValue: '_4567.acm-validations.aws.',
          }),
        ),
      };
    case 'aws:acm/certificateValidation:CertificateValidation':
      return { ...base, certificateArn: inputs.certificateArn };
    case 'aws:amp/workspace:Workspace':
      return {
        ...base,
        prometheusEndpoint: `https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-${name}/`,
      };
    case 'aws:lb/targetGroup:TargetGroup':
      return { ...base, arnSuffix: `targetgroup/${name}/4567` };
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      // ElastiCache gives a cluster-mode group a configuration endpoint and no primary endpoint.
      return inputs.clusterMode === 'enabled'
        ? { ...base, configurationEndpointAddress: `clustercfg.${name}.cache.amazonaws.com` }
        : { ...base, primaryEndpointAddress: `master.${name}.cache.amazonaws.com` };
    case 'aws:secretsmanager/secretVersion:SecretVersion':
      // Secrets Manager gives every new value a new version id; a trigger on it changes with the value.
      return { ...base, versionId: digest(String(inputs.secretString ?? '')) };
    case 'aws:ec2/vpcEndpoint:VpcEndpoint':
      return { ...base, prefixListId: `pl-${name}` };
    case 'random:index/randomPassword:RandomPassword':
      return { ...base, result: `${FAKE_SECRET_PREFIX}${name}` };
    case 'aws:ecr/repository:Repository':
      return {
        ...base,
        repositoryUrl: `111122223333.dkr.ecr.eu-west-1.amazonaws.com/${name}`,
        registryId: '111122223333',
      };
    case 'docker-build:index:Image':
      return {
        ...base,
        ref: `111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:stack@sha256:abc`,
        digest: 'sha256:abc',
      };
    case 'aws:eks/cluster:Cluster':
      return {
        ...base,
        endpoint: `https://${name}.eks.amazonaws.com`,
        certificateAuthority: { data: 'Q0EtREFUQQ==' },
        vpcConfig: { ...(inputs.vpcConfig as object), clusterSecurityGroupId: `sg-cluster-${name}` },
      };
    case 'kubernetes:core/v1:Service':
      return { ...base, status: { loadBalancer: { ingress: [{ hostname: `${name}.elb.amazonaws.com` }] } } };
    default:
      return base;
  }
}

/**
 * What DescribeInstanceTypes answers for the instance types the stacks use: vCPUs, memory (MiB), and
 * the ENI limits that set max pods (the same figures as awslabs/amazon-eks-ami's instance-info.jsonl).
 */
const INSTANCE_TYPES: Record<string, Record<string, number>> = {
  't3.large': {
    defaultVcpus: 2,
    memorySize: 8192,
    maximumNetworkInterfaces: 3,
    maximumIpv4AddressesPerInterface: 12,
  },
  't3.xlarge': {
    defaultVcpus: 4,
    memorySize: 16384,
    maximumNetworkInterfaces: 4,
    maximumIpv4AddressesPerInterface: 15,
  },
  'm7i.large': {
    defaultVcpus: 2,
    memorySize: 8192,
    maximumNetworkInterfaces: 3,
    maximumIpv4AddressesPerInterface: 10,
  },
  'm7i.xlarge': {
    defaultVcpus: 4,
    memorySize: 16384,
    maximumNetworkInterfaces: 4,
    maximumIpv4AddressesPerInterface: 15,
  },
};

/** The default addon version EKS pairs with a Kubernetes minor (a stand-in, distinct per minor). */
export function defaultAddonVersion(addonName: string, kubernetesVersion: string): string {
  return `v${kubernetesVersion}.0-${addonName}-default`;
}

/** What already exists in the account, as the program's lookups see it. */
export interface ExistingCloud {
  /** EKS clusters by name, and whether each runs Auto Mode. */
  clusters?: Record<string, { autoMode: boolean }>;
}

let cloud: ExistingCloud = {};
/** Sets what the mocks' lookups find from now on (each runProgram sets it from its options too). */
export function useCloud(existing: ExistingCloud): void {
  cloud = existing;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** What the engine stand-in is asked for; the fields the harness reads (`pulumi/proto` RegisterResourceRequest). */
interface RegisterRequest {
  getDependenciesList(): string[];
  getProvider(): string;
  getIgnorechangesList(): string[];
}
type RegisterCallback = (err: unknown, response?: { getUrn(): string }) => void;
interface Registration {
  dependencies: string[];
  provider?: string;
  ignoreChanges: string[];
  recorded?: Recorded;
}

/**
 * Mocks hand `newResource` no dependencies, so wrap the mock monitor's `registerResource`: it calls
 * `newResource` synchronously, before its first await, so the request being served is known there.
 * The URN comes back in the response.
 */
function recordDependencies(): { take(): Registration | undefined } {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: RegisterCallback): Promise<void>;
  };
  const original = monitor.registerResource.bind(monitor);
  let pending: Registration | undefined;
  monitor.registerResource = (req, callback) => {
    const reference = req.getProvider();
    const registration: Registration = {
      dependencies: req.getDependenciesList(),
      provider: reference ? reference.slice(0, reference.lastIndexOf('::')) : undefined,
      ignoreChanges: req.getIgnorechangesList(),
    };
    pending = registration;
    return original(req, (err, response) => {
      if (response && registration.recorded) registration.recorded.urn = response.getUrn();
      callback(err, response);
    });
  };
  return {
    take() {
      const registration = pending;
      pending = undefined;
      return registration;
    },
  };
}

let runs = 0;

export interface ProgramRun {
  resources: Recorded[];
  // biome-ignore lint/suspicious/noExplicitAny: the program's exports are Outputs of several shapes.
  outputs: Record<string, any>;
  ofType(type: string): Recorded[];
  /** The single resource of `type` whose name is `name`; fails the test otherwise. */
  one(type: string, name: string): Recorded;
}

/** Sets mocks and config, then imports the program (only after setMocks) and waits for every registration. */
export async function runProgram(
  stack: Stack,
  overrides: Record<string, unknown> = {},
  options: { preview?: boolean; record?: Recorded[]; cloud?: ExistingCloud } = {},
): Promise<ProgramRun> {
  // A caller-supplied list survives a program that throws, so a test can see what got registered.
  const resources: Recorded[] = options.record ?? [];
  let registrations: { take(): Registration | undefined } | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const registration = registrations?.take();
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, '', secretPaths) as Record<string, unknown>;
        const id = `${args.name}-id`;
        const state = mockState(args.type, args.name, inputs);
        const recorded: Recorded = {
          type: args.type,
          name: args.name,
          inputs,
          secretPaths,
          id,
          state,
          dependencies: registration?.dependencies ?? [],
          provider: registration?.provider,
          ignoreChanges: registration?.ignoreChanges ?? [],
          read: args.id !== undefined && args.id !== '',
        };
        if (registration) registration.recorded = recorded;
        resources.push(recorded);
        return { id, state };
      },
      call(args) {
        switch (args.token) {
          case 'aws:index/getAvailabilityZones:getAvailabilityZones':
            return {
              names: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
              zoneIds: ['euw1-az1', 'euw1-az2', 'euw1-az3'],
            };
          case 'aws:index/getRegion:getRegion':
            return { name: 'eu-west-1', region: 'eu-west-1' };
          case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
            return { userName: 'AWS', password: `${FAKE_SECRET_PREFIX}ecr`, proxyEndpoint: 'https://ecr' };
          case 'aws:index/getCallerIdentity:getCallerIdentity':
            return { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/ci', userId: 'ci' };
          case 'aws:route53/getZone:getZone':
            return { zoneId: 'Z0MOCKZONE', name: args.inputs.name };
          case 'aws:index/getPartition:getPartition':
            return { partition: 'aws', dnsSuffix: 'amazonaws.com' };
          case 'aws:ec2/getInstanceType:getInstanceType': {
            const spec = INSTANCE_TYPES[args.inputs.instanceType];
            if (!spec)
              throw new Error(
                `InvalidInstanceType: ${args.inputs.instanceType} (not in the harness's table)`,
              );
            return { instanceType: args.inputs.instanceType, ...spec };
          }
          case 'aws:eks/getAddonVersion:getAddonVersion':
            return {
              ...args.inputs,
              version: defaultAddonVersion(args.inputs.addonName, args.inputs.kubernetesVersion),
            };
          case 'aws:eks/getClusters:getClusters':
            return { names: Object.keys(cloud.clusters ?? {}) };
          case 'aws:eks/getCluster:getCluster': {
            const found = cloud.clusters?.[args.inputs.name];
            if (!found)
              throw new Error(`ResourceNotFoundException: No cluster found for name: ${args.inputs.name}`);
            return { name: args.inputs.name, computeConfigs: [{ enabled: found.autoMode }] };
          }
          default:
            return args.inputs;
        }
      },
    },
    'mcp-fleet',
    stack,
    options.preview ?? false,
  );
  registrations = recordDependencies();
  useCloud(options.cloud ?? {});
  const raw = { ...readStackConfig(stack), ...overrides };
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    config[`mcp-fleet:${key}`] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(config, ['mcp-fleet:serverSecrets']);

  // A second run in the same worker must evaluate the program again, not reuse the first one's module.
  if (runs++ > 0) vi.resetModules();
  const outputs = (await import('../../infra/index.js')) as Record<string, unknown>;
  await settle();
  return {
    resources,
    outputs,
    ofType: (type) => resources.filter((resource) => resource.type === type),
    one(type, name) {
      const matches = resources.filter((resource) => resource.type === type && resource.name === name);
      if (matches.length !== 1) {
        const names = resources.filter((resource) => resource.type === type).map((resource) => resource.name);
        throw new Error(
          `expected one ${type} named ${name}, found ${matches.length} (have: ${names.join(', ')})`,
        );
      }
      return matches[0] as Recorded;
    },
  };
}

/** Waits until the program has registered everything: the count stops changing. */
async function settle(): Promise<void> {
  // waitForRPCs is internal to @pulumi/pulumi but exported at runtime; fall back to polling.
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (typeof runtime.waitForRPCs === 'function') await runtime.waitForRPCs();
  await new Promise((resolve) => setTimeout(resolve, 50));
}
