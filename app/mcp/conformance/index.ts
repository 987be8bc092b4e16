import type { McpServer, ServerCapabilities } from '@modelcontextprotocol/server';
import type { ToolEnv } from '../tools/tool.js';
import { CHANGE_TOOLS } from './change-tools.js';
import { CONTENT_TOOLS } from './content-tools.js';
import { registerFixtureTools } from './fixture.js';
import { INPUT_TOOLS } from './input-tools.js';
import { registerFixturePrompts } from './prompts.js';
import { registerFixtureResources } from './resources.js';

/**
 * The fixtures of the official conformance suite (@modelcontextprotocol/conformance), registered
 * only with MCP_CONFORMANCE_FIXTURES=1. Their names and results are what the suite expects; they
 * run through the product's own routing, session restore, relay and event bus, which is what the
 * suite then measures.
 */
export function registerConformanceFixtures(server: McpServer, env: ToolEnv): void {
  registerFixtureTools(server, [...CONTENT_TOOLS, ...INPUT_TOOLS, ...CHANGE_TOOLS], env);
  registerFixtureResources(server, env);
  registerFixturePrompts(server);
}

/** Declared only with the fixtures: without them the server has no resources, prompts or completions. */
export const CONFORMANCE_CAPABILITIES: ServerCapabilities = {
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
  completions: {},
};
