import * as pulumi from '@pulumi/pulumi';
import type { z } from 'zod';
import { environmentSchema, type ParsedEnvironment } from './config/environment.js';
import { fargateSizeProblem } from './config/fargate.js';
import type { ServerConfig } from './config/server.js';

export { INGRESS_CHARTS } from './config/environment.js';
export type { ProbeConfig, ServerConfig } from './config/server.js';

/** The Pulumi project name: every stack config key is `mcp-fleet:<key>`. */
export const PROJECT = 'mcp-fleet';

/** Top-level stack config keys the program reads. Anything else under `mcp-fleet:` is a typo. */
export const CONFIG_KEYS: readonly string[] = Object.keys(environmentSchema.shape);

/** The validated stack config that components receive; nothing downstream reads pulumi.Config. */
export type StackConfig = ParsedEnvironment;

/** A stack config that cannot be deployed; the message names each key path and what was expected. */
export class ConfigError extends Error {
  readonly code = 'INVALID_STACK_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid stack config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Validates raw stack config (top-level key without the `mcp-fleet:` prefix → value) into a typed
 * object. A plain function: tests call it without the Pulumi engine.
 */
export function parseConfig(raw: Record<string, unknown>): StackConfig {
  const unknownKeys = Object.keys(raw).filter((key) => !CONFIG_KEYS.includes(key));
  const parsed = environmentSchema.safeParse(raw);
  const problems = unknownKeys.map(
    (key) => `${PROJECT}:${key}: unknown key; expected one of ${CONFIG_KEYS.join(', ')}`,
  );
  if (!parsed.success) {
    // Unknown top-level keys are reported above with the list of valid ones.
    const issues = parsed.error.issues.filter(
      (issue) => !(issue.code === 'unrecognized_keys' && issue.path.length === 0),
    );
    problems.push(...issues.map(describeIssue));
    throw new ConfigError(problems);
  }
  problems.push(...crossCheck(parsed.data));
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/** Reads every known key of the current stack and parses it; throws ConfigError before any resource exists. */
export function loadStackConfig(): StackConfig {
  const config = new pulumi.Config(PROJECT);
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const text = config.get(key);
    if (text === undefined) continue;
    raw[key] = parseValue(text);
  }
  return parseConfig(raw);
}

/** Stack values arrive as strings; objects, numbers and booleans as JSON, plain strings as themselves. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  return `${PROJECT}:${path || '(root)'}: ${issue.message}`;
}

/** Rules that span several keys: platform-specific sizes, routing conflicts, secret values. */
function crossCheck(config: ParsedEnvironment): string[] {
  const problems: string[] = [];
  const routes = new Map<string, string>();
  for (const [name, server] of Object.entries(config.servers)) {
    const at = `${PROJECT}:servers.${name}`;
    if (config.platform === 'ecs') {
      const sizeProblem = fargateSizeProblem(server.resources.cpu, server.resources.memory);
      if (sizeProblem) problems.push(`${at}.resources: ${sizeProblem}`);
    }
    const route = `${server.ingress.host ?? '*'}${server.ingress.path}`;
    const owner = routes.get(route);
    if (owner) {
      problems.push(
        `${at}.ingress.host: ${server.ingress.host ?? '(no host)'} with path ${server.ingress.path} is already routed to server "${owner}"; expected a unique host/path`,
      );
    } else {
      routes.set(route, name);
    }
    problems.push(...checkSecretValues(name, server, config.serverSecrets[name] ?? {}));
  }
  for (const name of Object.keys(config.serverSecrets)) {
    if (!config.servers[name]) {
      problems.push(`${PROJECT}:serverSecrets.${name}: no server named "${name}" in servers`);
    }
  }
  return problems;
}

function checkSecretValues(name: string, server: ServerConfig, values: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const secret of server.secrets) {
    if (values[secret] === undefined) {
      problems.push(
        `${PROJECT}:serverSecrets.${name}.${secret}: missing; set it with \`pulumi config set --secret --path 'serverSecrets.${name}.${secret}' <value>\``,
      );
    }
  }
  for (const secret of Object.keys(values)) {
    if (!server.secrets.includes(secret)) {
      problems.push(`${PROJECT}:serverSecrets.${name}.${secret}: not listed in servers.${name}.secrets`);
    }
  }
  return problems;
}
