import { beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.js';
import { nameFor } from '../../infra/shared/names.js';
import { rulePriority } from '../../infra/shared/routing.js';
import { userSettings } from './expectations.js';
import { type ProgramRun, readStackConfig, runProgram } from './harness.js';

/**
 * Staging changed the way users change stacks: a server added that sorts first, IAM policies on the
 * app, metrics to Amazon Managed Prometheus. Nothing that existed before may move.
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
      app: { ...servers.app, awsPolicyArns: [DYNAMO, S3] },
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
