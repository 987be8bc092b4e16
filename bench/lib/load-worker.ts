/**
 * Runs one autocannon load in its own process, so that the load generator never shares an event
 * loop with the orchestrator (which reads the nodes' logs and samples /proc). Input: a LoadSpec
 * as JSON in argv[2]. Output: one LoadResult as JSON on stdout.
 */
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
let withoutResult = 0;
let firstFailure: string | undefined;

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationSeconds,
  idReplacement: true,
  requests: spec.requests.map((request) => ({
    ...request,
    // Every answer must carry a JSON-RPC result: a 200 with an error inside is not a served call.
    onResponse: (status: number, body: string) => {
      if (status !== 200 || !body.includes('"result"')) {
        withoutResult++;
        firstFailure ??= `${status} ${body.slice(0, 300)}`;
      }
    },
  })),
});

const output: LoadResult = {
  callsPerSecond: result.requests.total / (result.duration || spec.durationSeconds),
  total: result.requests.total,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  withoutResult,
  firstFailure,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
