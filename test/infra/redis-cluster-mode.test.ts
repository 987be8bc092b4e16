import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.js';
import { REGION } from './checks/runs.js';
import { expectOpen } from './checks/verdicts.js';
import { userSettings } from './expectations.js';
import { type ProgramRun, readStackConfig, runProgram } from './harness.js';
import { ecsTopology } from './outcome/ecs-topology.js';
import { ResourceGraph, T } from './outcome/graph.js';
import { containersOf, ecsStartReads, podStartReads } from './outcome/ordering.js';
import { connect } from './outcome/reachability.js';

/**
 * `redis.clusterMode: true`: an ElastiCache replication group with cluster mode enabled, and an app
 * that starts from its configuration endpoint as a Redis Cluster client (REDIS_CLUSTER=true).
 */
const production = readStackConfig('production');
// No `shards`: the default (3) applies.
const clusterMode = { redis: { ...(production.redis as object), clusterMode: true } };

// biome-ignore lint/suspicious/noExplicitAny: a container's environment as registered.
const envOf = (container: any): Record<string, string> =>
  Object.fromEntries(
    (container.environment ?? []).map((v: { name: string; value: string }) => [v.name, v.value]),
  );

function theGroup(graph: ResourceGraph) {
  const groups = graph.ofType(T.replicationGroup);
  expect(groups).toHaveLength(1);
  return groups[0]!;
}

/** The host of REDIS_URL as the app reads it from Secrets Manager. */
function redisUrlHost(graph: ResourceGraph): string {
  const stored = graph
    .ofType(T.secretVersion)
    .map((version) => String(version.inputs.secretString ?? ''))
    .find((value) => value.includes('REDIS_URL'));
  expect(stored).toBeDefined();
  return new URL((JSON.parse(stored!) as { REDIS_URL: string }).REDIS_URL).hostname;
}

describe('redis.clusterMode on ECS (production stack)', () => {
  let run: ProgramRun;
  let graph: ResourceGraph;
  beforeAll(async () => {
    run = await runProgram('production', { ...userSettings('production', 'ecs'), ...clusterMode });
    graph = new ResourceGraph(run.resources);
  });

  it('creates a cluster-mode group: 3 shards by default, the replicas per shard, failover, a cluster-enabled parameter group', () => {
    const group = theGroup(graph);
    expect(group.inputs).toMatchObject({
      clusterMode: 'enabled',
      numNodeGroups: 3,
      replicasPerNodeGroup: (production.redis as { replicas: number }).replicas,
      automaticFailoverEnabled: true,
      transitEncryptionEnabled: true,
    });
    expect(group.inputs.numCacheClusters).toBeUndefined();
    const parameters = graph.byRef(
      'aws:elasticache/parameterGroup:ParameterGroup',
      group.inputs.parameterGroupName,
    );
    expect(parameters?.inputs.parameters).toEqual(
      expect.arrayContaining([
        { name: 'cluster-enabled', value: 'yes' },
        { name: 'maxmemory-policy', value: 'noeviction' },
      ]),
    );
  });

  it('the app tasks start as cluster clients of the configuration endpoint, and reach it on 6379', () => {
    const group = theGroup(graph);
    const topology = ecsTopology(graph, REGION);
    const app = topology.servers.get('app')!;
    const taskDefinition = graph.byRef(T.taskDefinition, app.service.inputs.taskDefinition)!;
    const container = containersOf(taskDefinition).find((c) => c.name === 'app');
    expect(envOf(container)).toMatchObject({ REDIS_CLUSTER: 'true' });
    expect(container.secrets.map((s: { name: string }) => s.name)).toContain('REDIS_URL');
    // REDIS_URL, as the task reads it at start, names the group's configuration endpoint.
    expect(redisUrlHost(graph)).toBe(group.state.configurationEndpointAddress);
    expect(ecsStartReads(graph, app.service).some((read) => read.resource === group)).toBe(true);
    for (const task of app.tasks) {
      expectOpen(connect(topology.model, task, topology.redis!.endpoint, 6379));
    }
  });
});

describe('redis.clusterMode on EKS (production stack)', () => {
  it('the app pods start with REDIS_CLUSTER=true and a REDIS_URL naming the configuration endpoint', async () => {
    const run = await runProgram('production', { ...userSettings('production', 'eks'), ...clusterMode });
    const graph = new ResourceGraph(run.resources);
    const group = theGroup(graph);
    const deployment = graph
      .ofType(T.deployment)
      .find((candidate) => candidate.inputs.metadata?.name === 'app');
    expect(deployment).toBeDefined();
    const container = deployment!.inputs.spec.template.spec.containers.find(
      (c: { name: string }) => c.name === 'app',
    );
    const env = Object.fromEntries(
      (container.env as { name: string; value?: string }[]).map((v) => [v.name, v.value]),
    );
    expect(env.REDIS_CLUSTER).toBe('true');
    expect(podStartReads(graph, deployment!).some((read) => read.resource === group)).toBe(true);
  });
});

describe('redis.clusterMode configuration', () => {
  const withRedis = (redis: Record<string, unknown>) =>
    parseConfig({
      ...production,
      ...userSettings('production', 'ecs'),
      redis: { ...(production.redis as object), ...redis },
    });

  it('is off unless asked, and takes a shard count with it', () => {
    expect(withRedis({}).redis).toMatchObject({ clusterMode: false });
    expect(withRedis({ clusterMode: true, shards: 6 }).redis).toMatchObject({ clusterMode: true, shards: 6 });
  });

  it('refuses shards without clusterMode, and a Redis OSS engine without sharded pub/sub', () => {
    expect(() => withRedis({ shards: 3 })).toThrow(/redis\.shards.*only used with clusterMode/s);
    expect(() => withRedis({ engine: 'redis', engineVersion: '6.2' })).toThrow(/redis\.engineVersion.*7\.0/s);
  });
});
