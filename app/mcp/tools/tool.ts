import type {
  CallToolResult,
  InputRequiredResult,
  RequestStateCodec,
  ServerContext,
  ServerEvent,
} from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { AdminGate } from '../../auth/admin.js';
import type { MemoryScope, MemoryStore, SessionStore } from '../../store/types.js';

/** Which MCP era an instance serves: `modern` is 2026-07-28, `legacy` the 2025 and 2024 eras. */
export type Era = 'modern' | 'legacy';

/** What a tool may use besides its arguments and the SDK's request context. */
export interface ToolEnv {
  nodeId: string;
  era: Era;
  /** The HTTP transport the call arrived on. */
  transport: 'streamable-http' | 'sse';
  protocolVersion(): string | undefined;
  memory: MemoryStore;
  /** Per session in the 2025 era, per principal in 2026 (which has no sessions). */
  memoryScope(ctx: ServerContext): MemoryScope;
  /** Records a 2025-era session's `resources/subscribe` in its shared record (see SessionStore). */
  setSubscription: SessionStore['setSubscription'];
  /**
   * Publishes a change to every client on every node; resolves once the shared event log holds it
   * (app/bus/event-log.ts), so a caller told "published" can rely on every client getting it.
   */
  publish(event: ServerEvent): Promise<unknown>;
  /** Seals multi-round-trip state with MCP_STATE_KEY, bound to the caller, so any node can verify it. */
  requestState: RequestStateCodec;
  /** Who may run fleet-wide operations; a tool that needs it checks it itself, in every era and transport. */
  admin: AdminGate;
}

export type ToolResult = CallToolResult | InputRequiredResult;

/** A tool, defined once for every era. One file per tool under app/mcp/tools/. */
export interface ToolDefinition<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: Input;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean };
  run(args: z.infer<Input>, ctx: ServerContext, env: ToolEnv): Promise<ToolResult>;
}

/** Keeps the argument type of `run` tied to the schema, then erases it for the tool list. */
export function defineTool<Input extends z.ZodObject>(tool: ToolDefinition<Input>): ToolDefinition {
  cacheJsonSchema(tool.input);
  return tool as unknown as ToolDefinition;
}

type JsonSchemaOf = (options: { target: string }) => Record<string, unknown>;

/**
 * The SDK converts a tool's schema to JSON Schema (Standard Schema's `~standard.jsonSchema`) on
 * every `tools/call` and `tools/list`, and caches it only on the McpServer instance, which the
 * 2026 era builds per request: about 22 µs per call. A tool's schema never changes, so convert it
 * once per process and target; zod's `~standard` setter is its documented way to override this.
 */
function cacheJsonSchema(schema: z.ZodObject): void {
  const standard = schema['~standard'] as z.ZodObject['~standard'] & {
    jsonSchema: { input: JsonSchemaOf; output: JsonSchemaOf };
  };
  const once = (convert: JsonSchemaOf): JsonSchemaOf => {
    const byTarget = new Map<string, Record<string, unknown>>();
    return (options) => {
      let converted = byTarget.get(options.target);
      if (!converted) {
        converted = convert(options);
        byTarget.set(options.target, converted);
      }
      return converted;
    };
  };
  schema['~standard'] = {
    ...standard,
    jsonSchema: { input: once(standard.jsonSchema.input), output: once(standard.jsonSchema.output) },
  } as z.ZodObject['~standard'];
}

export function textResult(text: string, structuredContent?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structuredContent ? { structuredContent } : {}) };
}

export function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}
