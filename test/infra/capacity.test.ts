import { describe, expect, it } from 'vitest';
import {
  allocatable,
  type InstanceSpec,
  nodeGroupProblem,
  nodePoolProblem,
  nodesNeeded,
  type PodDemand,
} from '../../infra/eks/capacity.js';

/** What DescribeInstanceTypes says of m7i.large and m7i.xlarge. */
const M7I_LARGE: InstanceSpec = {
  instanceType: 'm7i.large',
  vcpus: 2,
  memoryMiB: 8192,
  maximumNetworkInterfaces: 3,
  ipv4AddressesPerInterface: 10,
};
const M7I_XLARGE: InstanceSpec = {
  ...M7I_LARGE,
  instanceType: 'm7i.xlarge',
  vcpus: 4,
  memoryMiB: 16384,
  maximumNetworkInterfaces: 4,
  ipv4AddressesPerInterface: 15,
};
const app = (replicas: number): PodDemand => ({
  name: 'servers.app',
  replicas,
  cpuMilli: 1000,
  memoryMiB: 2048,
});

describe('node capacity (the preview check of finding 11)', () => {
  it('leaves pods what nodeadm leaves them: kube-reserved CPU and memory, eviction, DaemonSets, ENI-bound pods', () => {
    // 2000m − (60 + 10) reserved − 150 DaemonSets; 29 pods (3 × 9 + 2) less 3 DaemonSets.
    expect(allocatable(M7I_LARGE)).toEqual({
      instanceType: 'm7i.large',
      cpuMilli: 1780,
      memoryMiB: 6908,
      pods: 26,
    });
    // 4000m − (60 + 10 + 10) − 150: 0.5% of the third and fourth cores.
    expect(allocatable(M7I_XLARGE).cpuMilli).toBe(3770);
  });

  it('packs pods onto as few nodes as fit them, and says when one pod fits on no node', () => {
    const node = allocatable(M7I_LARGE);
    expect(nodesNeeded([app(12)], node)).toBe(12);
    expect(nodesNeeded([app(12)], allocatable(M7I_XLARGE))).toBe(4);
    expect(nodesNeeded([{ name: 'big', replicas: 1, cpuMilli: 4000, memoryMiB: 1 }], node)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('refuses the production HPA maximum on m7i.large, accepts it on m7i.xlarge, and names the key to change', () => {
    expect(nodeGroupProblem([app(12)], [M7I_LARGE], 9)).toMatch(
      /^mcp-fleet:eks\.nodeGroup\.max: .* need 12 m7i\.large nodes .* may grow to 9/,
    );
    expect(nodeGroupProblem([app(12)], [M7I_XLARGE], 9)).toBeUndefined();
    // A group of several types plans for the smallest.
    expect(nodeGroupProblem([app(12)], [M7I_XLARGE, M7I_LARGE], 9)).toMatch(/m7i\.large nodes/);
    expect(
      nodeGroupProblem([{ name: 'servers.big', replicas: 1, cpuMilli: 8000, memoryMiB: 1 }], [M7I_XLARGE], 9),
    ).toMatch(/^mcp-fleet:eks\.nodeGroup\.instanceTypes: .*servers\.big: 1 × 8000m\/1Mi does not fit on one/);
  });

  it('holds Auto Mode pods against the NodePool limits, with room for what nodes keep', () => {
    expect(nodePoolProblem([app(12)], { cpu: 16, memoryGiB: 64 })).toBeUndefined();
    expect(nodePoolProblem([app(12)], { cpu: 12, memoryGiB: 64 })).toMatch(
      /^mcp-fleet:eks\.nodePool: .* need about 15 vCPUs and 29 GiB .* limited to 12 vCPUs and 64 GiB/,
    );
  });
});
