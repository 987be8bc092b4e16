import type {
  ClientCapabilities,
  McpServer,
  ServerContext,
  StandardSchemaWithJSON,
} from '@modelcontextprotocol/server';
import type { ToolEnv, ToolResult } from '../tools/tool.js';

/**
 * A conformance fixture tool: the exact name and behaviour the official suite calls. Fixtures use
 * the same McpServer, routing, session restore and event bus as the product's tools; only what
 * they return is dictated by the suite.
 */
export interface FixtureTool {
  name: string;
  description: string;
  /** A zod object, or a raw JSON Schema the suite inspects keyword by keyword. */
  input: StandardSchemaWithJSON;
  run(args: Record<string, unknown>, ctx: ServerContext, env: FixtureEnv): Promise<ToolResult>;
}

export interface FixtureEnv extends ToolEnv {
  /** What the client declared: on this request's `_meta` (2026), or in its `initialize` (2025 era). */
  clientCapabilities(): ClientCapabilities;
}

export function registerFixtureTools(
  server: McpServer,
  tools: readonly FixtureTool[],
  toolEnv: ToolEnv,
): void {
  const env: FixtureEnv = {
    ...toolEnv,
    clientCapabilities: () => server.server.getClientCapabilities() ?? {},
  };
  for (const tool of tools) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.input },
      (args: unknown, ctx: ServerContext) => tool.run((args ?? {}) as Record<string, unknown>, ctx, env),
    );
  }
}

export function text(value: string) {
  return { type: 'text' as const, text: value };
}
