import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOLS } from '../../app/mcp/tools/index.js';
import { type LocalCluster, startCluster } from '../helpers/cluster.js';
import {
  type InspectorEra,
  type InspectorTransport,
  inspectorCli,
  requireTestTools,
} from '../helpers/conformance.js';

/**
 * A smoke test with the official MCP Inspector CLI (`@modelcontextprotocol/inspector --cli`), in
 * every era and transport it speaks, through nginx in front of two nodes: what a developer sees
 * when they point the Inspector at a deployment.
 */
interface Target {
  name: string;
  path: '/mcp' | '/sse';
  transport: InspectorTransport;
  era: InspectorEra;
  /** What node_info reports about the call. */
  expected: { era: string; transport: string; protocolVersion: RegExp; hasSession: boolean };
}

const TARGETS: Target[] = [
  {
    name: '2026-07-28 over Streamable HTTP',
    path: '/mcp',
    transport: 'http',
    era: 'modern',
    expected: {
      era: '2026-07-28',
      transport: 'streamable-http',
      protocolVersion: /^2026-07-28$/,
      hasSession: false,
    },
  },
  {
    name: '2025 era over Streamable HTTP (sessions)',
    path: '/mcp',
    transport: 'http',
    era: 'legacy',
    expected: { era: '2025-era', transport: 'streamable-http', protocolVersion: /^2025-/, hasSession: true },
  },
  {
    name: 'the 2024-11-05 HTTP+SSE transport',
    path: '/sse',
    transport: 'sse',
    era: 'legacy',
    expected: { era: '2025-era', transport: 'sse', protocolVersion: /^20\d\d-/, hasSession: true },
  },
];

interface ToolsList {
  result: { tools: { name: string }[] };
}
interface ToolCall {
  result: {
    content: { type: string; text?: string }[];
    structuredContent?: Record<string, unknown>;
    isError?: boolean;
  };
}

describe('end to end: the MCP Inspector CLI through nginx and 2 nodes', () => {
  let cluster: LocalCluster;
  const home = mkdtempSync(join(tmpdir(), 'mcp-fleet-inspector-'));

  beforeAll(async () => {
    requireTestTools();
    // As deployed: MCP_CONFORMANCE_FIXTURES is off.
    cluster = await startCluster({ nodes: 2, namePrefix: 'inspector' });
  });

  afterAll(async () => {
    await cluster?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it.each(TARGETS)('$name: tools/list shows our tools and tools/call runs them', async (target) => {
    const at = { url: `${cluster.url}${target.path}`, transport: target.transport, era: target.era, home };

    const listing = await inspectorCli(at, 'tools/list');
    expect(listing.exitCode).toBe(0);
    const listed = listing.output as ToolsList;
    // Exactly the product's tools: the conformance fixtures are off unless asked for.
    expect(listed.result.tools.map((tool) => tool.name).sort()).toEqual(
      TOOLS.map((tool) => tool.name).sort(),
    );

    const echo = await inspectorCli(at, 'tools/call', [
      '--tool-name',
      'echo',
      '--tool-args-json',
      JSON.stringify({ text: `hello from the inspector (${target.name})` }),
    ]);
    expect(echo.exitCode).toBe(0);
    const echoed = echo.output as ToolCall;
    expect(echoed.result.isError).not.toBe(true);
    expect(echoed.result.content).toEqual([
      { type: 'text', text: `hello from the inspector (${target.name})` },
    ]);

    const call = await inspectorCli(at, 'tools/call', ['--tool-name', 'node_info']);
    expect(call.exitCode).toBe(0);
    const info = call.output as ToolCall;
    const served = info.result.structuredContent ?? {};
    expect(served.era).toBe(target.expected.era);
    expect(served.transport).toBe(target.expected.transport);
    expect(String(served.protocolVersion)).toMatch(target.expected.protocolVersion);
    expect(cluster.nodes.map((node) => node.nodeId)).toContain(served.nodeId);
    if (target.expected.hasSession) expect(served.sessionId).toEqual(expect.any(String));
    else expect(served.sessionId).toBeNull();
  });

  it.each(TARGETS)(
    '$name: an argument of the wrong type is a tool error naming the argument',
    async (target) => {
      const at = { url: `${cluster.url}${target.path}`, transport: target.transport, era: target.era, home };
      const call = await inspectorCli(at, 'tools/call', [
        '--tool-name',
        'echo',
        '--tool-args-json',
        '{"text":42}',
      ]);
      // The Inspector exits 5 when the tool answered isError: the model sees the message, nothing crashed.
      expect(call.exitCode).toBe(5);
      const refused = call.output as ToolCall;
      expect(refused.result.isError).toBe(true);
      expect(refused.result.content[0]?.text).toMatch(/Invalid arguments for tool echo: text/);
    },
  );
});
