import { beforeAll, describe } from 'vitest';
import type { Stack } from '../harness.js';
import { describeEcsNetwork } from './ecs-network.js';
import { describeEksNetwork } from './eks-network.js';
import { describeEcsLifecycle, describeLifecycle } from './lifecycle-checks.js';
import { captureRuns, type Platform, type StackRuns } from './runs.js';
import { describeContainerStart } from './start-checks.js';

/**
 * The outcome checks for one stack on one platform. Checks that fail on the current program are
 * `it.fails` and name the review finding they guard (shared/reviews/infra-review.md): flip each to
 * `it` when its fix lands.
 */
export function describeOutcomes(stack: Stack, platform: Platform): void {
  describe(`outcomes of ${stack} on ${platform}`, () => {
    let runs: StackRuns;
    // Seven program runs; on a loaded 2-core machine they can take minutes.
    beforeAll(async () => {
      runs = await captureRuns(stack, platform);
    }, 300_000);
    const get = () => runs;
    if (platform === 'ecs') {
      describeEcsNetwork(get);
      describeEcsLifecycle(get);
    } else {
      describeEksNetwork(get);
    }
    describeContainerStart(get);
    describeLifecycle(platform, get);
  });
}
