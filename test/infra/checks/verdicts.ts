import { expect } from 'vitest';
import type { Connection } from '../outcome/reachability.js';

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
