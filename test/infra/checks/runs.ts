import { parseConfig, type StackConfig } from '../../../infra/config.js';
import { userSettings } from '../expectations.js';
import { type ProgramRun, readStackConfig, runProgram, type Stack } from '../harness.js';
import { ResourceGraph } from '../outcome/graph.js';

/**
 * The program runs every check reads, for one stack on one platform: the committed config plus what
 * its comments tell a user to set (`userSettings`: a domain where one is required, the EKS endpoint
 * CIDRs and roles), and the variations the checks compare it with. Runs happen one after the other
 * in one worker.
 */

export type Platform = 'ecs' | 'eks';

/** The region the harness's mocks answer `aws.getRegion` with. */
export const REGION = 'eu-west-1';

export interface Captured {
  run: ProgramRun;
  graph: ResourceGraph;
  /** The validated stack config the run was given (servers with their imageConfig). */
  config: StackConfig;
}

export interface StackRuns {
  stack: Stack;
  platform: Platform;
  /** The committed stack file. */
  base: Captured;
  /** The committed stack file again: a second deploy with nothing changed. */
  repeated: Captured;
  /** The same, with a new value for the app's API keys. */
  rotated: Captured;
  /** Config A of the churn checks: lists with several entries (IAM policies, EKS admin and CI roles). */
  churnBase: Captured;
  /** A plus a server whose name and host sort before every other. */
  churnAdded: Captured;
  /** A with every list reversed. */
  churnReordered: Captured;
  /** The stack with `vpc.nat: none`: either refused (the message) or deployed without NAT. */
  withoutNat: Captured | { refused: string };
  /** EKS only: the stack on EKS Auto Mode. */
  autoMode?: Captured;
  /** EKS only: the stack after the documented switch to the other nginx controller. */
  switched?: Captured;
  /** EKS only: the stack with `eks.version` one minor up. */
  upgraded?: Captured;
}

export const ROTATED_API_KEYS = 'rotated-api-key-0123456789abcdef';
export const POLICY_ARNS = [
  'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
  'arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess',
];
const ADMIN_ROLES = [
  'arn:aws:iam::111122223333:role/platform-admin',
  'arn:aws:iam::111122223333:role/break-glass',
];
const CI_ROLES = [
  'arn:aws:iam::111122223333:role/github-actions-deploy',
  'arn:aws:iam::111122223333:role/github-actions-preview',
];

// biome-ignore lint/suspicious/noExplicitAny: raw stack config, edited key by key.
type Raw = Record<string, any>;

async function capture(stack: Stack, overrides: Raw): Promise<Captured> {
  const config = parseConfig({ ...readStackConfig(stack), ...overrides });
  const run = await runProgram(stack, overrides);
  return { run, graph: new ResourceGraph(run.resources), config };
}

/** Config A: the stack with two IAM policies on the third-party server and two admin and CI roles. */
function churnBase(raw: Raw, settings: Raw): Raw {
  return {
    ...settings,
    servers: { ...raw.servers, everything: { ...raw.servers.everything, awsPolicyArns: POLICY_ARNS } },
    eks: { ...raw.eks, ...settings.eks, adminRoleArns: ADMIN_ROLES, ciRoleArns: CI_ROLES },
  };
}

/**
 * A server whose name sorts before every other, added in front of the map: a stateless one, so it
 * takes a route of its own. With a domain it is served at `aaa.<domain>`, a host that sorts first too;
 * without one, under its own path.
 */
function firstServer(raw: Raw, settings: Raw): Raw {
  const everything = raw.servers.everything;
  return {
    ...everything,
    port: 3002,
    awsPolicyArns: [],
    stateless: true,
    ingress: settings.domain ? {} : { path: '/aaa' },
  };
}

export async function captureRuns(stack: Stack, platform: Platform): Promise<StackRuns> {
  const raw = readStackConfig(stack) as Raw;
  const settings = userSettings(stack, platform) as Raw;
  const base = await capture(stack, settings);
  const repeated = await capture(stack, settings);
  // A key set with `pulumi config set --secret` in place of the generated one: a new value.
  const rotated = await capture(stack, {
    ...settings,
    serverSecrets: { ...raw.serverSecrets, app: { AUTH_API_KEYS: ROTATED_API_KEYS } },
  });
  const a = churnBase(raw, settings);
  const churnBaseRun = await capture(stack, a);
  const churnAdded = await capture(stack, {
    ...a,
    servers: { aaa: firstServer(raw, settings), ...a.servers },
  });
  const churnReordered = await capture(stack, {
    ...a,
    servers: {
      ...a.servers,
      everything: { ...a.servers.everything, awsPolicyArns: [...POLICY_ARNS].reverse() },
    },
    eks: { ...a.eks, adminRoleArns: [...ADMIN_ROLES].reverse(), ciRoleArns: [...CI_ROLES].reverse() },
  });
  const eks = platform === 'eks';
  const autoMode = eks
    ? await capture(stack, { ...settings, eks: { ...settings.eks, compute: 'auto' } })
    : undefined;
  const other = raw.ingress?.controller === 'ingress-nginx' ? 'f5-nginx' : 'ingress-nginx';
  const switched = eks
    ? await capture(stack, { ...settings, ingress: { ...raw.ingress, controller: other } })
    : undefined;
  const upgraded = eks
    ? await capture(stack, {
        ...settings,
        eks: { ...settings.eks, version: nextMinor(String(raw.eks.version)) },
      })
    : undefined;
  let withoutNat: StackRuns['withoutNat'];
  try {
    withoutNat = await capture(stack, { ...settings, vpc: { ...raw.vpc, nat: 'none' } });
  } catch (err) {
    withoutNat = { refused: err instanceof Error ? err.message : String(err) };
  }
  return {
    stack,
    platform,
    base,
    repeated,
    rotated,
    churnBase: churnBaseRun,
    churnAdded,
    churnReordered,
    withoutNat,
    autoMode,
    switched,
    upgraded,
  };
}

/** `1.33` → `1.34`. */
export function nextMinor(version: string): string {
  const [major, minor] = version.split('.');
  return `${major}.${Number(minor) + 1}`;
}
