import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RecordedRequest } from './wire.js';

export interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Replayed in turn by every connection; `[<id>]` in a body becomes a unique id per request. */
  requests: (RecordedRequest & { path: string })[];
}

export interface LoadResult {
  callsPerSecond: number;
  total: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** Answers without a JSON-RPC `result` (errors inside a 200, or bad statuses). */
  withoutResult: number;
  /** Status and body of the first failed answer, for the error message. */
  firstFailure?: string;
}

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

/** One autocannon run in a separate process. Throws if any call failed: a failed call is not throughput. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), (spec.durationSeconds + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(killer);
      if (code !== 0) return reject(new Error(`load worker exited with ${code}`));
      const result = JSON.parse(stdout) as LoadResult;
      if (result.total === 0) return reject(new Error(`load against ${spec.url} got no answer at all`));
      if (result.non2xx > 0 || result.errors > 0 || result.withoutResult > 0) {
        return reject(
          new Error(
            `load against ${spec.url} had failures: ${result.non2xx} non-2xx, ${result.errors} errors/timeouts, ${result.withoutResult} without a result; first: ${result.firstFailure}`,
          ),
        );
      }
      resolve(result);
    });
  });
}
