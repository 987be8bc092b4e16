import { type AuthInfo, McpServer, requireScopes, type ServerContext } from '@modelcontextprotocol/server';
import type { AdminGate } from '../auth/admin.js';
import type { EventLogBus } from '../bus/event-log.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { FleetStore } from '../store/types.js';
import { SERVER_NAME, SERVER_VERSION } from '../version.js';
import { CONFORMANCE_CAPABILITIES, registerConformanceFixtures } from './conformance/index.js';
import { principalOf } from './principal.js';
import { createRequestStateSealer } from './request-state.js';
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
  /** MCP_STATE_KEY_PREVIOUS: still accepted while a key rotation is under way. */
  previousStateKey?: string;
  /** OAUTH_TOOL_SCOPES: scopes a token needs to call each tool (403 insufficient_scope without). */
  toolScopes?: Record<string, string[]>;
  /** Where tools publish list and resource changes (see the notify_change tool). */
  bus: EventLogBus;
  /** MCP_CONFORMANCE_FIXTURES: also serve the official conformance suite's tools, resources and prompts. */
  conformanceFixtures?: boolean;
  /** Who may call admin tools (notify_change): see app/auth/admin.ts. */
  admin: AdminGate;
}): ServerFactory {
  const stateCodec = createRequestStateSealer({
    key: deps.stateKey,
    previousKey: deps.previousStateKey,
    logger: deps.logger,
  });

  return ({ era, transport = 'streamable-http' }) => {
    const server = new McpServer(
      { name: SERVER_NAME, version: SERVER_VERSION },
      {
        capabilities: {
          tools: { listChanged: true },
          logging: {},
          ...(deps.conformanceFixtures ? CONFORMANCE_CAPABILITIES : {}),
        },
        requestState: { verify: stateCodec.verify },
      },
    );
    const env: ToolEnv = {
      nodeId: deps.nodeId,
      era,
      transport,
      protocolVersion: () => server.server.getNegotiatedProtocolVersion(),
      memory: deps.store.memory,
      setSubscription: (id, uri, subscribed) => deps.store.sessions.setSubscription(id, uri, subscribed),
      publish: (event) => deps.bus.append(event),
      requestState: stateCodec,
      admin: deps.admin,
      memoryScope: (ctx) =>
        era === 'legacy' && ctx.sessionId
          ? { kind: 'session', sessionId: ctx.sessionId }
          : { kind: 'principal', principal: principalOf(ctx.http?.authInfo) },
    };
    for (const tool of TOOLS) registerTool(server, tool, env, deps);
    if (deps.conformanceFixtures) registerConformanceFixtures(server, env);
    return server;
  };
}

function registerTool(
  server: McpServer,
  tool: ToolDefinition,
  env: ToolEnv,
  deps: { metrics: Metrics; logger: Logger; toolScopes?: Record<string, string[]> },
): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      annotations: tool.annotations,
      scopeChallenge: scopeChallengeFor(deps.toolScopes?.[tool.name]),
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

/** The SDK answers a call without these scopes with 403 and a `WWW-Authenticate` scope challenge. */
function scopeChallengeFor(scopes: string[] | undefined) {
  const [first, ...rest] = scopes ?? [];
  return first === undefined ? undefined : requireScopes(first, ...rest);
}
