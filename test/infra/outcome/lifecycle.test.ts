import { describe, expect, it } from 'vitest';
import { churn, priorityMoves } from './churn.js';
import { graphOf, resource } from './fixtures.js';
import { T } from './graph.js';
import { ecsStartReads, podStartReads, racingReads, upWaitsForHealthyTasks } from './ordering.js';
import { rollouts } from './rollout.js';

const secret = resource(T.secret, 'keys');
const version = (value: string) =>
  resource(T.secretVersion, 'keys', { secretId: 'keys-id', secretString: value }, { dependsOn: [secret] });
const taskDefinition = (dependsOn = [secret]) =>
  resource(
    T.taskDefinition,
    'app-task',
    {
      containerDefinitions: JSON.stringify([
        {
          name: 'app',
          secrets: [{ name: 'AUTH_API_KEYS', valueFrom: `${secret.state.arn}:AUTH_API_KEYS::` }],
        },
      ]),
    },
    { dependsOn },
  );
const service = (definition = taskDefinition(), inputs: Record<string, unknown> = {}) =>
  resource(
    T.ecsService,
    'app-service',
    { taskDefinition: definition.state.arn, ...inputs },
    { dependsOn: [definition] },
  );

describe('ordering', () => {
  it('finds a service that can start tasks before its secret has a version', () => {
    const v = version('{"AUTH_API_KEYS":"k"}');
    const definition = taskDefinition();
    const svc = service(definition);
    const graph = graphOf(secret, v, definition, svc);
    const racing = racingReads(graph, svc, ecsStartReads(graph, svc));
    expect(racing.map((read) => read.what)).toEqual(['AUTH_API_KEYS from SecretVersion keys']);
    // With the version in the task definition's dependsOn, nothing races.
    const ordered = taskDefinition([secret, v]);
    const orderedService = service(ordered);
    const fixed = graphOf(secret, v, ordered, orderedService);
    expect(racingReads(fixed, orderedService, ecsStartReads(fixed, orderedService))).toEqual([]);
  });

  it('finds a Deployment that can start pods before the Secret its env reads', () => {
    const k8sSecret = resource(T.k8sSecret, 'app-secret', {
      metadata: { name: 'app-secrets', namespace: 'mcp-app' },
      stringData: { K: 'v' },
    });
    const deployment = (dependsOn: (typeof k8sSecret)[]) =>
      resource(
        T.deployment,
        'app-deployment',
        {
          metadata: { name: 'app', namespace: 'mcp-app' },
          spec: {
            template: {
              spec: {
                containers: [
                  { env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'K' } } }] },
                ],
              },
            },
          },
        },
        { dependsOn },
      );
    const racing = deployment([]);
    expect(
      racingReads(graphOf(k8sSecret, racing), racing, podStartReads(graphOf(k8sSecret, racing), racing)),
    ).toHaveLength(1);
    const ordered = deployment([k8sSecret]);
    expect(
      racingReads(graphOf(k8sSecret, ordered), ordered, podStartReads(graphOf(k8sSecret, ordered), ordered)),
    ).toEqual([]);
  });

  it('knows `pulumi up` returns before tasks are healthy unless the service waits for steady state', () => {
    expect(upWaitsForHealthyTasks(service())).toBe(false);
    expect(upWaitsForHealthyTasks(service(taskDefinition(), { waitForSteadyState: true }))).toBe(true);
  });
});

describe('rollouts', () => {
  it('a new secret value behind valueFrom rolls no ECS task; forceNewDeployment with changed triggers does', () => {
    const before = graphOf(secret, version('a'), taskDefinition(), service());
    const after = graphOf(secret, version('b'), taskDefinition(), service());
    expect(rollouts(before, after)).toEqual([]);
    const triggered = (value: string) =>
      service(taskDefinition(), { forceNewDeployment: true, triggers: { secrets: value } });
    expect(
      rollouts(graphOf(taskDefinition(), triggered('v1')), graphOf(taskDefinition(), triggered('v2'))),
    ).toHaveLength(1);
    expect(
      rollouts(graphOf(taskDefinition(), triggered('v1')), graphOf(taskDefinition(), triggered('v1'))),
    ).toEqual([]);
  });

  it('a task definition change rolls the service; only a pod template change rolls a Deployment', () => {
    const changed = resource(T.taskDefinition, 'app-task', {
      containerDefinitions: '[{"name":"app","image":"b"}]',
    });
    expect(rollouts(graphOf(taskDefinition(), service()), graphOf(changed, service(changed)))).toHaveLength(
      1,
    );
    const deployment = (template: unknown, replicas = 2) =>
      resource(T.deployment, 'd', { spec: { replicas, template } });
    expect(rollouts(graphOf(deployment({ a: 1 })), graphOf(deployment({ a: 1 }, 5)))).toEqual([]);
    expect(rollouts(graphOf(deployment({ a: 1 })), graphOf(deployment({ a: 2 })))).toEqual([
      { workload: 'Deployment d', why: 'the pod template changed' },
    ]);
  });
});

describe('churn', () => {
  const attachment = (name: string, policyArn: string) =>
    resource('aws:iam/rolePolicyAttachment:RolePolicyAttachment', name, { role: 'r', policyArn });
  const rule = (priority: number) => resource(T.listenerRule, 'app-route', { listenerArn: 'l', priority });

  it('a renamed resource is deleted, and a changed policyArn replaces the attachment', () => {
    const result = churn(
      graphOf(attachment('r-0', 'p1'), attachment('r-1', 'p2')),
      graphOf(attachment('r-0', 'p2'), attachment('r-x', 'p1')),
    );
    expect(result.deleted).toEqual(['RolePolicyAttachment r-1']);
    expect(result.replaced).toEqual(['RolePolicyAttachment r-0 (policyArn: "p1" → "p2")']);
  });

  it('a listener-rule priority changes in place, and is reported as a move', () => {
    const result = churn(graphOf(rule(10)), graphOf(rule(20)));
    expect(result).toEqual({ deleted: [], replaced: [], unmodelled: [] });
    expect(priorityMoves(graphOf(rule(10)), graphOf(rule(20)))).toEqual([
      'ListenerRule app-route: priority 10 → 20',
    ]);
  });

  it('replaces a Kubernetes object whose name changes, and flags changes it has no rule for', () => {
    const ns = (name: string) => resource(T.namespace, 'ns', { metadata: { name } });
    expect(churn(graphOf(ns('a')), graphOf(ns('b'))).replaced).toEqual(['Namespace ns (metadata.name)']);
    const bucket = (acl: string) => resource('aws:s3/bucket:Bucket', 'b', { acl });
    expect(churn(graphOf(bucket('private')), graphOf(bucket('public'))).unmodelled).toEqual([
      'Bucket b (acl)',
    ]);
  });
});
