import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.js';
import { safeJson } from '../helpers/app-node.js';
import { type LocalCluster, startCluster } from '../helpers/cluster.js';
import {
  countChecks,
  type Requirements,
  readScenarioResults,
  requireTestTools,
  runConformanceSuite,
  scoredServerScenarios,
} from '../helpers/conformance.js';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance), run as users run it:
 * against nginx in front of two nodes that share one Redis, round robin, so that consecutive
 * requests of one client land on different nodes. Every check the revision scores must pass.
 */
describe('end to end: the official conformance suite through nginx and 2 nodes', () => {
  let cluster: LocalCluster;
  const outputRoot = mkdtempSync(join(tmpdir(), 'mcp-fleet-conformance-'));

  beforeAll(async () => {
    requireTestTools();
    cluster = await startCluster({
      nodes: 2,
      namePrefix: 'conformance',
      // Otherwise as deployed, rate limits included.
      env: { MCP_CONFORMANCE_FIXTURES: '1' },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    rmSync(outputRoot, { recursive: true, force: true });
  });

  it.each<Requirements>(['2026-07-28', '2025-11-25'])(
    'requirements %s: every scored check passes',
    async (requirements) => {
      const outputDir = join(outputRoot, requirements);
      const scored = await scoredServerScenarios(requirements);
      const before = cluster.nodes.map((node) => node.current.logs.length);
      const run = await runConformanceSuite(`${cluster.url}/mcp`, requirements, outputDir);
      const results = readScenarioResults(outputDir);
      const counts = countChecks(results, scored);

      console.log(
        `[conformance ${requirements}] scored: ${counts.passed} passed, ${counts.failed} failed, ` +
          `${counts.warnings} warnings; not scored: ${counts.notScored.passed} passed, ` +
          `${counts.notScored.failed} failed (${results.length} scenarios run, ${scored.length} scored)`,
      );
      for (const failure of counts.failures) console.log(`[conformance ${requirements}] FAILED ${failure}`);

      // Every scored scenario ran, and produced checks.
      const ran = new Set(results.map((result) => result.scenario));
      expect(scored.filter((scenario) => !ran.has(scenario))).toEqual([]);
      expect(counts.failures).toEqual([]);
      expect(counts.passed).toBeGreaterThan(0);
      // The suite's own verdict agrees: exit code 0 means no scored check failed.
      expect(run.exitCode, run.stdout.slice(-2000)).toBe(0);

      // It went through the cluster, not around it: both nodes served the suite's requests, and
      // 2025-era sessions begun on one node were restored on the other.
      const logged = cluster.nodes.map((node, i) =>
        node.current.logs.slice(before[i]).map((line) => safeJson(line)?.msg),
      );
      for (const messages of logged)
        expect(messages.filter((msg) => msg === 'request').length).toBeGreaterThan(10);
      if (requirements === '2025-11-25') {
        const restores = logged.flat().filter((msg) => msg === 'session restored from the store');
        expect(restores.length).toBeGreaterThan(0);
      }
    },
    300_000,
  );
});

describe('MCP_CONFORMANCE_FIXTURES', () => {
  it('is off unless set to 1 or true, and any other value names the variable', () => {
    expect(loadConfig({}).conformanceFixtures).toBe(false);
    expect(loadConfig({ MCP_CONFORMANCE_FIXTURES: '0' }).conformanceFixtures).toBe(false);
    expect(loadConfig({ MCP_CONFORMANCE_FIXTURES: '1' }).conformanceFixtures).toBe(true);
    expect(loadConfig({ MCP_CONFORMANCE_FIXTURES: 'true' }).conformanceFixtures).toBe(true);
    expect(() => loadConfig({ MCP_CONFORMANCE_FIXTURES: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ MCP_CONFORMANCE_FIXTURES: 'yes' })).toThrow(
      /MCP_CONFORMANCE_FIXTURES: expected 1 or true/,
    );
  });
});
