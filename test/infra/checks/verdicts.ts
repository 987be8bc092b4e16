import { expect } from 'vitest';
import { OPERATIONS_PATHS } from '../../../infra/shared/public-routes.js';
import type { Connection } from '../outcome/reachability.js';
import type { Captured, StackRuns } from './runs.js';

/** Fails with the layer that drops the connection, not with `expected false to be true`. */
export function expectOpen(verdict: Connection): void {
  expect(verdict.ok ? 'open' : verdict.reason).toBe('open');
}

export function expectRefused(verdict: Connection, what: string): void {
  expect(verdict.ok ? `${what} is open: ${verdict.path.join(' / ')}` : 'refused').toBe('refused');
}

/** Where the app serves /metrics: METRICS_PORT when set (the separate port), else its traffic port. */
export function metricsPort(env: Record<string, string>): number {
  return Number(env.METRICS_PORT ?? env.PORT);
}

/** Public Docker Hub registry endpoints an image pull talks to (a stand-in public address). */
export const DOCKER_HUB = { name: 'Docker Hub (registry-1.docker.io)', internet: { ip: '192.0.2.80' } };

/** The endpoints a registry pull needs: ECR's API and Docker endpoints and S3 for the layers, or Docker Hub. */
export function registryServices(image: string): string[] {
  return /\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\//.test(image)
    ? ['ecr.api', 'ecr.dkr', 's3']
    : ['docker-hub'];
}

/** The ports the public load balancer listens on: 80, and 443 when the stack has a domain. */
export function publicListenerPorts(captured: Captured): number[] {
  return captured.config.domain ? [443, 80].sort() : [80];
}

/** What clients ask the app for (both transports, the OAuth metadata, the gateway): the internet must reach it. */
export const CLIENT_PATHS = [
  '/mcp',
  '/sse',
  '/messages',
  '/.well-known/oauth-protected-resource/mcp',
  '/servers/x/mcp',
];

/** The operations paths, and paths below and beside them: the internet must reach none of them. */
export const OPERATIONS_PROBES = [...OPERATIONS_PATHS, '/metrics/x', '/anything-else'];

/**
 * Finding 20: a stack without NAT is refused with a message naming `vpc.nat`, or deploys; returns
 * the deployed run, whose workloads must then reach what they start with through VPC endpoints.
 */
export function deployedWithoutNat(runs: StackRuns): Captured | undefined {
  const { withoutNat } = runs;
  if ('refused' in withoutNat) {
    expect(withoutNat.refused).toMatch(/vpc\.nat/);
    return undefined;
  }
  return withoutNat;
}
