import { beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.js';
import { nameFor } from '../../infra/shared/names.js';
import { rulePriority } from '../../infra/shared/routing.js';
import { assertSecretsOnlyWhereAllowed, SHIPPED_SECRETS, userSettings } from './expectations.js';
import { FAKE_SECRET_PREFIX, type ProgramRun, promiseOf, readStackConfig, runProgram } from './harness.js';

/**
 * Staging changed the way users change stacks: a stateless server with its own route added that sorts
 * first, a second upstream whose gateway sends it a credential, IAM policies and admin keys on the app,
 * metrics to Amazon Managed Prometheus. Nothing that existed before may move.
 */
const S3 = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
const DYNAMO = 'arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess';
/** The whole header value the gateway sends the `github` upstream (a stand-in credential). */
const GITHUB_AUTHORIZATION = `Bearer ${FAKE_SECRET_PREFIX}github-pat`;

const shipped = readStackConfig('staging');
const servers = shipped.servers as Record<string, Record<string, unknown>>;
let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('staging', {
    ...userSettings('staging', 'ecs'),
    servers: {
      aaa: {
        image: 'ghcr.io/example/first:1',
        port: 8080,
        stateless: true,
        ingress: { path: '/aaa' },
        replicas: 1,
      },
      ...servers,
      github: {
        image: 'ghcr.io/example/github-mcp:1',
        port: 8082,
        mcpPath: '/api/mcp',
        secrets: ['GITHUB_API_URL_TOKEN'],
        upstreamHeaders: { Authorization: 'GITHUB_MCP_AUTHORIZATION' },
      },
      app: { ...servers.app, awsPolicyArns: [DYNAMO, S3], auth: { mode: 'apikey', adminKeys: true } },
    },
    metrics: { exporter: 'amp' },
    serverSecrets: {
      github: {
        GITHUB_MCP_AUTHORIZATION: GITHUB_AUTHORIZATION,
        GITHUB_API_URL_TOKEN: `${FAKE_SECRET_PREFIX}own`,
      },
    },
  });
});

// biome-ignore lint/suspicious/noExplicitAny: container definitions as registered.
const containers = (server: string): any[] =>
  JSON.parse(run.one('aws:ecs/taskDefinition:TaskDefinition', `${server}-task`).inputs.containerDefinitions);

it('keeps the priority of every existing route when a server that sorts first is added', () => {
  const before = parseConfig(shipped).servers;
  const rule = run.one('aws:lb/listenerRule:ListenerRule', 'app-route').inputs;
  expect(rule.priority).toBe(rulePriority(before.app as Parameters<typeof rulePriority>[0]));
  expect(run.one('aws:lb/listenerRule:ListenerRule', 'aaa-route').inputs.conditions).toEqual([
    { pathPattern: { values: ['/aaa/mcp', '/aaa/.well-known/*'] } },
  ]);
  const priorities = run.ofType('aws:lb/listenerRule:ListenerRule').map((rule) => rule.inputs.priority);
  expect(new Set(priorities).size).toBe(priorities.length);
});

it('names each IAM policy attachment by its policy, so reordering the list replaces nothing', () => {
  const attachments = run
    .ofType('aws:iam/rolePolicyAttachment:RolePolicyAttachment')
    .filter((attachment) => attachment.name.startsWith('app-task-'));
  expect(attachments.map((attachment) => [attachment.name, attachment.inputs.policyArn]).sort()).toEqual(
    [
      [`app-task-${nameFor(DYNAMO)}`, DYNAMO],
      [`app-task-${nameFor(S3)}`, S3],
    ].sort(),
  );
});

it('ships metrics to an Amazon Managed Prometheus workspace with SigV4, allowed to remote-write only', () => {
  const workspace = run.one('aws:amp/workspace:Workspace', 'mcp-fleet-metrics');
  expect(workspace.inputs.alias).toBe('mcp-fleet-staging');
  const containers = JSON.parse(
    run.one('aws:ecs/taskDefinition:TaskDefinition', 'app-task').inputs.containerDefinitions,
  ) as { name: string; environment: { name: string; value: string }[] }[];
  const collector = containers.find((container) => container.name === 'metrics-collector');
  const config = JSON.parse(collector?.environment[0]?.value ?? '{}');
  expect(config.exporters).toEqual({
    prometheusremotewrite: {
      endpoint:
        'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-mcp-fleet-metrics/api/v1/remote_write',
      auth: { authenticator: 'sigv4auth' },
    },
  });
  expect(config.extensions).toEqual({ sigv4auth: { region: 'eu-west-1', service: 'aps' } });
  expect(config.service.extensions).toEqual(['sigv4auth']);
  const policy = JSON.parse(run.one('aws:iam/rolePolicy:RolePolicy', 'app-ship-metrics').inputs.policy);
  expect(policy.Statement).toEqual([
    { Effect: 'Allow', Action: 'aps:RemoteWrite', Resource: expect.stringContaining('mcp-fleet-metrics') },
  ]);
  expect(run.ofType('aws:cloudwatch/logGroup:LogGroup').map((group) => group.name)).not.toContain(
    'mcp-fleet-metrics',
  );
});

it('generates admin keys for `auth.adminKeys`, injects them like the API keys, and exports them as a secret', async () => {
  const admin = `${FAKE_SECRET_PREFIX}mcp-fleet-app-admin-api-key`;
  expect(
    run.one('random:index/randomPassword:RandomPassword', 'mcp-fleet-app-admin-api-key').inputs,
  ).toMatchObject({
    length: 48,
    special: false,
  });
  // In a secret of its own, next to (not inside) the API keys' secret: fewer people need to read it.
  const stored = (secret: string) =>
    JSON.parse(run.one('aws:secretsmanager/secretVersion:SecretVersion', secret).inputs.secretString);
  expect(stored('mcp-fleet-app')).toEqual({ AUTH_API_KEYS: `${FAKE_SECRET_PREFIX}mcp-fleet-app-api-key` });
  expect(stored('mcp-fleet-app-admin')).toEqual({ AUTH_ADMIN_API_KEYS: admin });
  const [app] = JSON.parse(
    run.one('aws:ecs/taskDefinition:TaskDefinition', 'app-task').inputs.containerDefinitions,
  ) as {
    secrets: { name: string; valueFrom: string }[];
  }[];
  expect(app?.secrets).toContainEqual({
    name: 'AUTH_ADMIN_API_KEYS',
    valueFrom: expect.stringMatching(/mcp-fleet-app-admin:AUTH_ADMIN_API_KEYS::$/),
  });
  expect(await run.outputs.adminApiKeys.isSecret).toBe(true);
  expect(await promiseOf(run.outputs.adminApiKeys)).toEqual({ app: admin });
  assertSecretsOnlyWhereAllowed(run, [...SHIPPED_SECRETS, admin]);
});

it("delivers an upstream's header secret to the app's gateway only, from a Secrets Manager secret of its own", () => {
  const [app] = containers('app');
  const env = Object.fromEntries(
    app.environment.map((v: { name: string; value: string }) => [v.name, v.value]),
  );
  // The mcpPath /api/mcp: basePath /api, so clients call /servers/github/mcp.
  expect(JSON.parse(env.UPSTREAMS).github).toEqual({
    dns: 'github.mcp-fleet.internal',
    port: 8082,
    basePath: '/api',
    headersFromEnv: { Authorization: 'GITHUB_MCP_AUTHORIZATION' },
  });
  expect(app.secrets).toContainEqual({
    name: 'GITHUB_MCP_AUTHORIZATION',
    valueFrom: expect.stringMatching(/mcp-fleet-github-gateway:GITHUB_MCP_AUTHORIZATION::$/),
  });
  const stored = JSON.parse(
    run.one('aws:secretsmanager/secretVersion:SecretVersion', 'mcp-fleet-github-gateway').inputs.secretString,
  );
  expect(stored).toEqual({ GITHUB_MCP_AUTHORIZATION: GITHUB_AUTHORIZATION });
  // The upstream's own container gets its own secret, never the header its callers send.
  const [github] = containers('github');
  expect(github.secrets.map((secret: { name: string }) => secret.name)).toEqual(['GITHUB_API_URL_TOKEN']);
  const readable = (server: string) =>
    JSON.parse(run.one('aws:iam/rolePolicy:RolePolicy', `${server}-read-secrets`).inputs.policy).Statement[0]
      .Resource as string[];
  expect(readable('app').some((arn) => arn.includes('mcp-fleet-github-gateway'))).toBe(true);
  expect(readable('github').some((arn) => arn.includes('mcp-fleet-github-gateway'))).toBe(false);
  assertSecretsOnlyWhereAllowed(run, [...SHIPPED_SECRETS, GITHUB_AUTHORIZATION, `${FAKE_SECRET_PREFIX}own`]);
});
