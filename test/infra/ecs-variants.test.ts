import { beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.js';
import { nameFor } from '../../infra/shared/names.js';
import { rulePriority } from '../../infra/shared/routing.js';
import { assertSecretsOnlyWhereAllowed, SHIPPED_SECRETS, userSettings } from './expectations.js';
import { FAKE_SECRET_PREFIX, type ProgramRun, promiseOf, readStackConfig, runProgram } from './harness.js';

/**
 * Staging changed the way users change stacks: a server added that sorts first, IAM policies and admin
 * keys on the app, metrics to Amazon Managed Prometheus. Nothing that existed before may move.
 */
const S3 = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
const DYNAMO = 'arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess';

const shipped = readStackConfig('staging');
const servers = shipped.servers as Record<string, Record<string, unknown>>;
let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram('staging', {
    ...userSettings('staging', 'ecs'),
    servers: {
      aaa: { image: 'ghcr.io/example/first:1', port: 8080, ingress: { path: '/aaa' }, replicas: 1 },
      ...servers,
      app: { ...servers.app, awsPolicyArns: [DYNAMO, S3], auth: { mode: 'apikey', adminKeys: true } },
    },
    metrics: { exporter: 'amp' },
  });
});

it('keeps the priority of every existing route when a server that sorts first is added', () => {
  const before = parseConfig(shipped).servers;
  for (const server of ['app', 'everything']) {
    const rule = run.one('aws:lb/listenerRule:ListenerRule', `${server}-route`).inputs;
    expect(rule.priority, server).toBe(rulePriority(before[server] as Parameters<typeof rulePriority>[0]));
  }
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
