/**
 * `node --import tsx bench/profile.ts [2025|2026] [seconds] [connections]`: runs one of our nodes
 * (on a private Redis) under --cpu-prof with echo load, then prints the functions with the most
 * self time and the files with the most total self time. The .cpuprofile file is kept for
 * Chrome DevTools. This is how the hot-path fixes in bench/RESULTS.md were found.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestRedis } from '../test/helpers/redis-server.js';
import { buildForBench } from './lib/build.js';
import { runLoad } from './lib/load.js';
import { startFleetNode } from './lib/servers.js';
import { assertEchoWorks, type Era, openSessions, recordClient, withIdPlaceholder } from './lib/wire.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}

const era = (process.argv[2] ?? '2025') as Era;
const seconds = Number(process.argv[3] ?? 10);
const connections = Number(process.argv[4] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-prof-'));

const redis = await startTestRedis();
const node = await startFleetNode(buildForBench(), redis.url, {
  nodeId: 'profiled',
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
});
try {
  const url = `${node.url}/mcp`;
  const recording = await recordClient(era, url);
  const sessions = era === '2025' ? await openSessions(url, recording, 50) : [undefined];
  await assertEchoWorks(url, recording, sessions[0]);
  const requests = sessions.map((id) => ({ ...withIdPlaceholder(recording.toolCall, id), path: '/mcp' }));
  const result = await runLoad({ url, connections, durationSeconds: seconds, requests });
  process.stdout.write(
    `${era}: ${result.callsPerSecond.toFixed(0)} calls/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms\n`,
  );
} finally {
  // SIGTERM drains and exits normally, which is when Node writes the profile.
  node.kill('SIGTERM');
  await node.exited;
  await redis.close();
}

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile was written to ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[] };
const total = profile.nodes.reduce((sum, n) => sum + n.hitCount, 0);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const n of profile.nodes) {
  const where = n.callFrame.url.replace(/^file:\/\//, '').replace(process.cwd(), '.');
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + n.hitCount);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ?? (where || n.callFrame.functionName);
  byFile.set(pkg, (byFile.get(pkg) ?? 0) + n.hitCount);
}
const top = (map: Map<string, number>, count: number) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
    .join('\n');
process.stdout.write(
  `\nself time by package or file:\n${top(byFile, 25)}\n\nself time by function:\n${top(byFunction, 30)}\n\nprofile: ${join(dir, file)}\n`,
);
