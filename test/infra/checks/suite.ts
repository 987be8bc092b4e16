import { beforeAll, describe } from 'vitest';
import type { Stack } from '../harness.js';
import { describeEcsNetwork } from './ecs-network.js';
import { describeEksCluster } from './eks-cluster-checks.js';
import { describeEksEdge } from './eks-edge-checks.js';
import { describeEksNetwork } from './eks-network.js';
import { describeEcsGateway, describeEksGateway } from './gateway-checks.js';
import { describeEcsLifecycle, describeLifecycle } from './lifecycle-checks.js';
import { captureRuns, type Platform, type StackRuns } from './runs.js';
import { describeContainerStart } from './start-checks.js';

/**
 * The outcome checks for one stack on one platform. Each check names the review finding it guards
 * (shared/reviews/infra-review.md); a check for a finding not fixed yet would be `it.fails`, so that
 * it shows, and flips to `it` when the fix lands.
 */
export function describeOutcomes(stack: Stack, platform: Platform): void {
  describe(`outcomes of ${stack} on ${platform}`, () => {
    let runs: StackRuns;
    // Seven program runs (nine on EKS); on a loaded 2-core machine they can take minutes.
    beforeAll(async () => {
      runs = await captureRuns(stack, platform);
    }, 300_000);
    const get = () => runs;
    if (platform === 'ecs') {
      describeEcsNetwork(get);
      describeEcsGateway(get);
      describeEcsLifecycle(get);
    } else {
      describeEksNetwork(get);
      describeEksGateway(get);
      describeEksEdge(get);
      describeEksCluster(get);
    }
    describeContainerStart(get);
    describeLifecycle(platform, get);
  });
}
