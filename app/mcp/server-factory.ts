import {
  type AuthInfo,
  createRequestStateCodec,
  McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { FleetStore } from '../store/types.js';
import { SERVER_NAME, SERVER_VERSION } from '../version.js';
import { principalOf } from './principal.js';
import { TOOLS } from './tools/index.js';
import type { Era, ToolDefinition, ToolEnv } from './tools/tool.js';

export interface ServerFactoryContext {
  era: Era;
  authInfo?: AuthInfo;
  transport?: ToolEnv['transport'];
}

export type ServerFactory = (ctx: ServerFactoryContext) => McpServer;

/**
 * The single McpServer definition behind every era and transport. The 2026 handler builds one
 * per request; the 2025 and 2024 transports build one per session and node.
 */
export function createServerFactory(deps: {
  nodeId: string;
  store: FleetStore;
  metrics: Metrics;
  logger: Logger;
  /** MCP_STATE_KEY: seals multi-round-trip request state so that any node can verify it. */
  stateKey: string;
}): ServerFactory {
  // Bound to the principal, so that one caller's state cannot be replayed by another.
  const stateCodec = createRequestStateCodec({
    key: deps.stateKey,
    bind: (ctx: ServerContext) => principalOf(ctx.http?.authInfo),
  });

  return ({ era, transport = 'streamable-http' }) => {
    const server = new McpServer(
      { name: SERVER_NAME, version: SERVER_VERSION },
      {
        capabilities: { tools: { listChanged: true }, logging: {} },
        requestState: { verify: stateCodec.verify },
      },
    );
    const env: ToolEnv = {
      nodeId: deps.nodeId,
      era,
      transport,
      protocolVersion: () => server.server.getNegotiatedProtocolVersion(),
      memory: deps.store.memory,
      memoryScope: (ctx) =>
        era === 'legacy' && ctx.sessionId
          ? { kind: 'session', sessionId: ctx.sessionId }
          : { kind: 'principal', principal: principalOf(ctx.http?.authInfo) },
    };
    for (const tool of TOOLS) registerTool(server, tool, env, deps);
    return server;
  };
}

function registerTool(
  server: McpServer,
  tool: ToolDefinition,
  env: ToolEnv,
  deps: { metrics: Metrics; logger: Logger },
): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      annotations: tool.annotations,
    },
    async (args: unknown, ctx: ServerContext) => {
      const stopTimer = deps.metrics.toolDuration.startTimer({ tool: tool.name });
      const started = performance.now();
      let status: 'ok' | 'error' = 'error';
      try {
        const result = await tool.run(args as never, ctx, env);
        status = 'isError' in result && result.isError ? 'error' : 'ok';
        return result;
      } finally {
        stopTimer();
        deps.metrics.toolCalls.inc({ tool: tool.name, status });
        deps.logger.info(
          {
            event: 'tool_call',
            tool: tool.name,
            status,
            era: env.era,
            sessionId: ctx.sessionId,
            principal: principalOf(ctx.http?.authInfo),
            durationMs: Math.round(performance.now() - started),
          },
          'tool call',
        );
      }
    },
  );
}
