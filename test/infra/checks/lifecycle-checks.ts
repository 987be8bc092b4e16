import { describe, expect, it } from 'vitest';
import { churn, priorityMoves } from '../outcome/churn.js';
import { label, T } from '../outcome/graph.js';
import { ecsStartReads, podStartReads, racingReads, upWaitsForHealthyTasks } from '../outcome/ordering.js';
import { rollouts } from '../outcome/rollout.js';
import type { Platform, StackRuns } from './runs.js';

/** What a first deploy, a key rotation and a config change do to running tasks and pods. */

export function describeLifecycle(platform: Platform, runs: () => StackRuns): void {
  const ecs = () => platform === 'ecs';
  const ordering =
    platform === 'ecs'
      ? 'finding 5: every ECS service starts tasks only after the secret versions it reads, and the Redis endpoint in them, exist'
      : 'finding 30: every Deployment starts pods only after the Secret it reads, and the Redis endpoint in it, exist';
  const workload = platform === 'ecs' ? 'Service app-service' : 'Deployment app-deployment';

  describe('ordering', () => {
    it(ordering, () => {
      const { graph } = runs().base;
      const workloads = ecs() ? graph.ofType(T.ecsService) : graph.ofType(T.deployment);
      expect(workloads.length).toBeGreaterThan(1);
      const races = workloads.flatMap((workload) => {
        const reads = ecs() ? ecsStartReads(graph, workload) : podStartReads(graph, workload);
        return racingReads(graph, workload, reads).map(
          (read) => `${label(workload)} may start before ${read.what}`,
        );
      });
      expect(races).toEqual([]);
    });
  });

  describe('rotation', () => {
    it(`finding 6: a new AUTH_API_KEYS value rolls the app ${ecs() ? 'tasks' : 'pods'}`, () => {
      const rolled = rollouts(runs().base.graph, runs().rotated.graph).map((rollout) => rollout.workload);
      expect(rolled).toContain(workload);
    });

    it('a second deploy with the same config and secrets rolls nothing', () => {
      expect(rollouts(runs().base.graph, runs().repeated.graph)).toEqual([]);
    });
  });

  describe('churn', () => {
    it('adding a server that sorts first deletes, renames or replaces nothing that exists', () => {
      expect(churn(runs().churnBase.graph, runs().churnAdded.graph)).toEqual({
        deleted: [],
        replaced: [],
        unmodelled: [],
      });
    });

    it('finding 13: reordering awsPolicyArns, adminRoleArns and ciRoleArns replaces nothing', () => {
      expect(churn(runs().churnBase.graph, runs().churnReordered.graph)).toEqual({
        deleted: [],
        replaced: [],
        unmodelled: [],
      });
    });
  });
}

/** ECS only: the listener rules and the deploy's wait. */
export function describeEcsLifecycle(runs: () => StackRuns): void {
  describe('ECS lifecycle', () => {
    it('finding 12: adding a server that sorts first moves no ALB listener-rule priority', () => {
      const moves = priorityMoves(runs().churnBase.graph, runs().churnAdded.graph);
      expect(runs().churnAdded.graph.find(T.listenerRule, 'aaa-route')).toBeDefined();
      expect(moves).toEqual([]);
    });

    it('finding 5: `pulumi up` waits until every service has healthy tasks', () => {
      const services = runs().base.graph.ofType(T.ecsService);
      expect(services.filter((service) => !upWaitsForHealthyTasks(service)).map(label)).toEqual([]);
    });
  });
}
