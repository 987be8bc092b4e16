import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { safeJson } from '../helpers/app-node.js';
import { type LocalCluster, startCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/ports.js';
import { connectEraClient, type EraClient, type EraName } from './support/era-clients.js';
import { type CallRecord, EchoLoad, formatCounts } from './support/load.js';

/**
 * Faults under load, through a real 3-node cluster behind nginx, with the real clients of every
 * era. Each scenario prints `sent, ok, failed, lost` per era and asserts them.
 *
 * What "ok" means is defined by what a client can observe:
 * - a call that started after the fault was over (the killed process had exited; Redis answered
 *   again through the ingress) must succeed;
 * - a call in flight on a node at the moment it was killed may fail, but must fail visibly;
 * - no call may go unanswered (`lost`), and no 2025-era session may be lost.
 */
const ERAS: EraName[] = ['2026-07-28', '2025 Streamable HTTP'];
const CLIENTS_PER_ERA = 3;
/** The passive health check window of the ingress (nginx `fail_timeout`). */
const FAIL_TIMEOUT_SECONDS = 2;
/** This is a fault test, not a rate-limit test: every call comes from 127.0.0.1 through nginx. */
const NO_RATE_LIMITS = { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_PRINCIPAL: '0' };

describe('end to end: faults under load through nginx and 3 nodes', () => {
  let cluster: LocalCluster | undefined;
  let clients: EraClient[] = [];

  afterEach(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    clients = [];
    await cluster?.stop();
    cluster = undefined;
  });

  async function setUp(name: string): Promise<{ cluster: LocalCluster; load: EchoLoad }> {
    cluster = await startCluster({
      nodes: 3,
      namePrefix: name,
      failTimeoutSeconds: FAIL_TIMEOUT_SECONDS,
      env: NO_RATE_LIMITS,
    });
    for (const era of ERAS) {
      for (let i = 1; i <= CLIENTS_PER_ERA; i++) {
        clients.push(await connectEraClient(era, cluster.url, `${name}-${era.slice(0, 4)}-${i}`));
      }
    }
    return { cluster, load: new EchoLoad(clients) };
  }

  function report(scenario: string, load: EchoLoad, filter?: (record: CallRecord) => boolean) {
    for (const era of ERAS) {
      console.log(formatCounts(scenario, era, load.counts(era, filter)));
      const first = load.failures(era).find((record) => !filter || filter(record));
      if (first) console.log(`[${scenario}] ${era}: first failure: HTTP ${first.httpStatus}: ${first.error}`);
    }
  }

  it('kill -9 of one node: calls started after it died all succeed, no session is lost', async () => {
    const { cluster, load } = await setUp('kill');
    const sessionsBefore = clients.map((client) => client.sessionId());
    load.start();
    await sleep(2_500);
    const victim = cluster.nodes[1]!;
    expect(await victim.kill('SIGKILL')).toBe('SIGKILL');
    const diedAt = performance.now();
    await sleep(4_000);
    await load.stop();

    report('kill -9, all calls', load);
    report('kill -9, started after the node died', load, (r) => r.startedAt > diedAt);
    // The victim was really serving this load when it died, so the kill hit calls and sessions.
    expect(toolCallsIn(victim.current.logs)).toBeGreaterThan(20);
    for (const era of ERAS) {
      const after = load.counts(era, (r) => r.startedAt > diedAt);
      expect(after.failed, `${era}: ${JSON.stringify(load.failures(era).slice(0, 3))}`).toBe(0);
      expect(after.lost).toBe(0);
      expect(after.ok).toBeGreaterThan(50);
      const all = load.counts(era);
      expect(all.lost).toBe(0);
      // At most the calls in flight on the victim when it died: one per client.
      expect(all.failed).toBeLessThanOrEqual(CLIENTS_PER_ERA);
      for (const failure of load.failures(era)) expect(failure.startedAt).toBeLessThan(diedAt);
    }
    // Every 2025-era client still has its session (restored on a surviving node) and can call.
    expect(clients.map((client) => client.sessionId())).toEqual(sessionsBefore);
    for (const client of clients) expect(await client.echo('after the kill', 5_000)).toBe('after the kill');
  });

  it('rolling restart of every node (SIGTERM, start again): zero failed calls', async () => {
    const { cluster, load } = await setUp('roll');
    const sessionsBefore = clients.map((client) => client.sessionId());
    load.start();
    await sleep(1_500);
    for (const node of cluster.nodes) {
      expect(await node.kill('SIGTERM'), `${node.nodeId} drains and exits 0`).toBe(0);
      await node.start();
      // Back in rotation: nginx sends the restarted process real traffic before the next goes down.
      await waitFor(`${node.nodeId} to serve calls again`, () => toolCallsIn(node.current.logs) > 0, 15_000);
    }
    await sleep(1_000);
    await load.stop();

    report('rolling restart', load);
    // When a call fails, the ingress says which node answered what.
    const errors = (await cluster.nginx.accessLines()).filter((line) => line.status >= 500);
    if (errors.length > 0) console.log('[rolling restart] nginx 5xx:', JSON.stringify(errors.slice(0, 5)));
    for (const era of ERAS) {
      const counts = load.counts(era);
      expect(counts.failed, `${era}: ${JSON.stringify(load.failures(era).slice(0, 3))}`).toBe(0);
      expect(counts.lost).toBe(0);
      expect(counts.ok).toBeGreaterThan(100);
    }
    expect(clients.map((client) => client.sessionId())).toEqual(sessionsBefore);
  });

  it('Redis restart mid-load: clear 503s while it is down, then full recovery', async () => {
    const { cluster, load } = await setUp('redis');
    const sessionsBefore = clients.map((client) => client.sessionId());
    load.start();
    await sleep(1_500);
    const downAt = performance.now();
    await cluster.redis.stop();
    await sleep(3_000);
    await cluster.redis.start();
    // Recovered, as a client sees it: the ingress answers ready again, once per node in turn.
    await waitFor(
      'the cluster to answer ready through nginx',
      async () => {
        for (let i = 0; i < cluster.nodes.length; i++) {
          if ((await fetch(`${cluster.url}/ready`)).status !== 200) return false;
        }
        return true;
      },
      20_000,
      100,
    );
    const recoveredAt = performance.now();
    await sleep(3_000);
    await load.stop();

    report('redis restart, all calls', load);

    report('redis restart, started after recovery', load, (r) => r.startedAt > recoveredAt);
    for (const era of ERAS) {
      const all = load.counts(era);
      expect(all.lost).toBe(0);
      // The outage was seen, and seen as what it is: HTTP 503 with the reason, nothing vaguer.
      const failures = load.failures(era);
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) {
        expect(failure.httpStatus).toBe(503);
        expect(failure.error).toMatch(/store_unavailable|no_upstream|unavailable/i);
        expect(failure.startedAt).toBeGreaterThan(downAt - 1_000);
        expect(failure.startedAt).toBeLessThan(recoveredAt);
      }
      const after = load.counts(era, (r) => r.startedAt > recoveredAt);
      expect(after.failed).toBe(0);
      expect(after.ok).toBeGreaterThan(30);
    }
    // Redis kept the session records across its restart, so every session carries on.
    expect(clients.map((client) => client.sessionId())).toEqual(sessionsBefore);
  });
});

function toolCallsIn(logs: string[]): number {
  return logs.filter((line) => safeJson(line)?.event === 'tool_call').length;
}
