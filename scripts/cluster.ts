/**
 * `npm run cluster -- --nodes N`: a local mcp-fleet cluster without Docker. N app nodes, one
 * private redis-server and one nginx (the SSE ingress), all on loopback. Ctrl-C stops them all.
 *
 * The same helper starts the cluster the end-to-end tests run against (test/helpers/cluster.ts),
 * so what you try here is what the tests prove.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LocalCluster, startCluster } from '../test/helpers/cluster.js';
import { startEverything, type Upstream } from '../test/helpers/upstreams.js';

const USAGE = `Usage: npm run cluster -- [--nodes N] [--port PORT] [--fixtures] [--upstreams]

  --nodes N     app nodes behind nginx (default 3, at most 16)
  --port PORT   nginx's port on 127.0.0.1 (default 8080; 0 picks a free one)
  --fixtures    register the conformance fixtures (MCP_CONFORMANCE_FIXTURES=1)
  --upstreams   also start two replicas of @modelcontextprotocol/server-everything in each
                transport, behind the gateway at /servers/everything/mcp and
                /servers/everything-sse/sse (needs: npm ci --prefix test/tools)

Needs nginx and redis-server on the PATH: sudo apt-get install -y nginx redis-server`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '3' },
      port: { type: 'string', default: '8080' },
      fixtures: { type: 'boolean', default: false },
      upstreams: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const nodes = Number(values.nodes);
  const port = Number(values.port);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16)
    fail(`--nodes: expected 1 to 16, got ${values.nodes}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port: expected 0 to 65535, got ${values.port}`);
  return { nodes, port, fixtures: values.fixtures, upstreams: values.upstreams };
}

function fail(message: string): never {
  process.stderr.write(`cluster: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const options = parseOptions();
  const logDir = mkdtempSync(join(tmpdir(), 'mcp-fleet-cluster-'));
  let cluster: LocalCluster;
  const upstreams: Upstream[] = [];
  const stopUpstreams = () => Promise.all(upstreams.map((upstream) => upstream.kill('SIGTERM')));
  try {
    if (options.upstreams) {
      upstreams.push(
        ...(await Promise.all([
          startEverything('streamableHttp', 'everything-1'),
          startEverything('streamableHttp', 'everything-2'),
          startEverything('sse', 'everything-sse-1'),
          startEverything('sse', 'everything-sse-2'),
        ])),
      );
    }
    const urlsOf = (prefix: string) =>
      upstreams.filter((u) => u.name.replace(/-\d+$/, '') === prefix).map((u) => u.url);
    cluster = await startCluster({
      nodes: options.nodes,
      port: options.port === 0 ? undefined : options.port,
      env: {
        // One fresh key shared by every node of this cluster, as production shares one.
        MCP_STATE_KEY: randomBytes(48).toString('base64'),
        REDIS_KEY_PREFIX: 'mcp-fleet:',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        ...(options.fixtures ? { MCP_CONFORMANCE_FIXTURES: '1' } : {}),
        ...(options.upstreams
          ? {
              UPSTREAMS: JSON.stringify({
                everything: { urls: urlsOf('everything') },
                'everything-sse': { urls: urlsOf('everything-sse') },
              }),
            }
          : {}),
      },
      maxLogLines: 200,
    });
  } catch (err) {
    await stopUpstreams();
    process.stderr.write(`cluster: could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }

  const logs = new Map<number, WriteStream>();
  const followLogs = () => {
    for (const node of cluster.nodes) {
      const child = node.current.process;
      const file = createWriteStream(join(logDir, `${node.nodeId}.log`), { flags: 'a' });
      file.write(`${node.current.logs.join('\n')}\n`);
      child.stdout?.pipe(file, { end: false });
      child.stderr?.pipe(file, { end: false });
      logs.set(node.index, file);
    }
  };
  followLogs();

  const lines = [
    '',
    `mcp-fleet cluster: ${cluster.nodes.length} node(s) behind nginx`,
    '',
    `  MCP endpoint   ${cluster.url}/mcp   (2026-07-28, 2025-era Streamable HTTP)`,
    ...(options.fixtures
      ? [`  fixtures       on: the conformance suite's test_* tools, test:// resources and prompts`]
      : []),
    ...(options.upstreams
      ? [
          `  gateway        ${cluster.url}/servers/everything/mcp   (Streamable HTTP, 2 replicas)`,
          `                 ${cluster.url}/servers/everything-sse/sse   (2024-11-05 HTTP+SSE, 2 replicas)`,
          ...upstreams.map((u) => `  ${u.name.padEnd(14)} pid ${u.process.pid}   ${u.url}`),
        ]
      : []),
    `  health         ${cluster.url}/health  (a different node each time: round robin)`,
    `  nginx          pid ${cluster.nginx.pid}   logs ${cluster.nginx.dir}/{access,error}.log`,
    `  redis          pid ${cluster.redis.pids.join(' ')}   ${cluster.redis.url} (${cluster.redis.kind})`,
    ...cluster.nodes.map(
      (node) =>
        `  ${node.nodeId.padEnd(14)} pid ${node.current.process.pid}   ${node.url}   log ${join(logDir, `${node.nodeId}.log`)}`,
    ),
    '',
    `Try: npx @modelcontextprotocol/inspector --cli ${cluster.url}/mcp --transport http --method tools/list`,
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping nginx, draining the nodes, stopping Redis…\n`);
    cluster
      .stop()
      .then(stopUpstreams)
      .then(() => {
        for (const file of logs.values()) file.end();
        process.stdout.write('stopped.\n');
        process.exit(0);
      })
      .catch((err: Error) => {
        process.stderr.write(`cluster: stopping failed: ${err.message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);

  // A node that dies on its own is reported, not restarted: this is a place to watch failures.
  for (const node of cluster.nodes) {
    void node.current.exited.then((code) => {
      if (!stopping)
        process.stderr.write(`cluster: ${node.nodeId} exited (${code}); nginx routes around it\n`);
    });
  }
}

void main();
