import * as pulumi from '@pulumi/pulumi';
import type { z } from 'zod';
import { environmentSchema, type ParsedEnvironment } from './config/environment.js';
import { fargateSizeProblem } from './config/fargate.js';
import { checkGateway } from './config/gateway.js';
import {
  AUTH_SECRETS,
  isPublic,
  type PublicServer,
  type ServerConfig,
  secretNames,
  upstreamHeaderSecrets,
} from './config/server.js';
import { rulePriorities } from './shared/routing.js';

export { INGRESS_CHARTS } from './config/environment.js';
export type { AuthConfig, ProbeConfig, PublicServer, ServerConfig } from './config/server.js';
export {
  AUTH_SECRETS,
  authSecretNames,
  isPublic,
  isUpstream,
  secretNames,
  upstreamHeaderSecrets,
} from './config/server.js';

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

/** What the stack knows besides its `mcp-fleet:` keys. */
export interface ConfigContext {
  /** `aws:region`, when the stack sets it: pinned AZs must belong to it. */
  region?: string;
}

/**
 * Validates raw stack config (top-level key without the `mcp-fleet:` prefix → value) into a typed
 * object. A plain function: tests call it without the Pulumi engine.
 */
export function parseConfig(raw: Record<string, unknown>, context: ConfigContext = {}): StackConfig {
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
  const config = withDomainHosts(parsed.data);
  problems.push(...crossCheck(config, context));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * With a `domain`, every public server without an explicit `ingress.host` is served at
 * `<name>.<domain>`; servers behind the app's gateway have no host of their own.
 */
function withDomainHosts(config: ParsedEnvironment): ParsedEnvironment {
  const { domain } = config;
  if (!domain) return config;
  const servers = Object.fromEntries(
    Object.entries(config.servers).map(([name, server]) => [
      name,
      server.ingress
        ? { ...server, ingress: { ...server.ingress, host: server.ingress.host ?? `${name}.${domain}` } }
        : server,
    ]),
  );
  return { ...config, servers };
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
  return parseConfig(raw, { region: new pulumi.Config('aws').get('region') });
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

/** Rules that span several keys: platform-specific sizes, routing conflicts, names, secret values. */
function crossCheck(config: ParsedEnvironment, context: ConfigContext): string[] {
  const problems: string[] = [];
  const routes = new Map<string, string>();
  const priorities = new Map<number, string>();
  for (const [name, server] of Object.entries(config.servers)) {
    const at = `${PROJECT}:servers.${name}`;
    if (config.platform === 'ecs') {
      const sizeProblem = fargateSizeProblem(server.resources.cpu, server.resources.memory);
      if (sizeProblem) problems.push(`${at}.resources: ${sizeProblem}`);
      if (server.build === 'app' && server.port === config.metrics.port) {
        problems.push(
          `${at}.port: ${server.port} is also metrics.port, where the app serves /metrics on ECS; expected another port`,
        );
      }
    }
    problems.push(...checkSecretValues(name, server, config.serverSecrets[name] ?? {}));
    if (!isPublic(server)) continue;
    if (config.platform === 'ecs') {
      for (const priority of rulePriorities(server)) {
        const holder = priorities.get(priority);
        if (holder) {
          problems.push(
            `${at}.ingress.priority: listener-rule priority ${priority} is also server "${holder}"'s; set ingress.priority (100-50000) on one of them`,
          );
        } else {
          priorities.set(priority, name);
        }
      }
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
    problems.push(...checkHost(name, server, config));
  }
  problems.push(...checkGateway(config.servers, config.platform, PROJECT));
  for (const name of Object.keys(config.serverSecrets)) {
    if (!config.servers[name]) {
      problems.push(`${PROJECT}:serverSecrets.${name}: no server named "${name}" in servers`);
    }
  }
  const zones = config.vpc.availabilityZones ?? [];
  zones.forEach((zone, index) => {
    if (context.region && !zone.startsWith(context.region)) {
      problems.push(
        `${PROJECT}:vpc.availabilityZones.${index}: ${zone} is not in aws:region ${context.region}; expected names such as ${context.region}a`,
      );
    }
  });
  return problems;
}

/**
 * Every server needs a host on EKS with the F5 controller.
 * With a `domain`, the one certificate covers `<domain>` and `*.<domain>`: a host deeper than that,
 * or outside the domain, would be served with a certificate that does not name it. On EKS the
 * records are CNAMEs to the controller's NLB, which the zone apex cannot hold.
 */
function checkHost(name: string, server: PublicServer, config: ParsedEnvironment): string[] {
  const { domain } = config;
  const host = server.ingress.host;
  if (server.ingress.path !== '/' && config.platform === 'eks' && config.ingress.controller === 'f5-nginx') {
    // Every server has a host of its own there, so a prefix buys nothing; and F5's rewrites are one
    // per Service (`nginx.org/rewrites`), which cannot strip the prefix from each public path.
    return [
      `${PROJECT}:servers.${name}.ingress.path: ${server.ingress.path}: on EKS with the F5 controller each server has a host of its own (F5 routes Ingresses by host only); expected /`,
    ];
  }
  if (!host && config.platform === 'eks' && config.ingress.controller === 'f5-nginx') {
    // F5 NGINX serves an Ingress only for a host (unless started with -allow-empty-ingress-host), and
    // gives each host to one Ingress: the oldest ("Host and Listener collisions", F5 NGINX docs).
    return [
      `${PROJECT}:servers.${name}.ingress.host: required on EKS with the F5 controller, which routes Ingresses by host only; set domain (each server then gets <name>.<domain>) or this key`,
    ];
  }
  if (!domain || !host) return [];
  const at = `${PROJECT}:servers.${name}.ingress.host`;
  const oneLevelBelow = host.endsWith(`.${domain}`) && !host.slice(0, -domain.length - 1).includes('.');
  if (host !== domain && !oneLevelBelow) {
    return [
      `${at}: ${host} is not covered by the certificate for ${domain} and *.${domain}; expected ${domain} or <label>.${domain}`,
    ];
  }
  if (host === domain && config.platform === 'eks') {
    return [
      `${at}: ${host} is the zone apex, which cannot be a CNAME to the ingress NLB; use <label>.${domain}`,
    ];
  }
  return [];
}

/**
 * The app's AUTH_API_KEYS entry format (app/config.ts): a key of 16+ visible characters without commas,
 * or `sha256:` and its 64-hex-digit digest. Checked here so a bad key fails the preview, not the tasks.
 */
const API_KEY_ENTRY = /^(sha256:[0-9a-fA-F]{64}|[\x21-\x2b\x2d-\x7e]{16,})$/;

function checkSecretValues(name: string, server: ServerConfig, values: Record<string, string>): string[] {
  const problems: string[] = [];
  const headerSecrets = upstreamHeaderSecrets(server);
  const expected = [...secretNames(server), ...headerSecrets];
  const generated: readonly string[] = AUTH_SECRETS;
  for (const secret of headerSecrets) {
    if (server.secrets.includes(secret)) {
      problems.push(
        `${PROJECT}:servers.${name}.upstreamHeaders: ${secret} is also in secrets; a header secret goes to the app's gateway only, so give the server's own copy another name`,
      );
    }
  }
  for (const secret of expected) {
    // The API keys are generated when not set; nothing can make up a third-party credential.
    if (values[secret] === undefined && !generated.includes(secret)) {
      problems.push(
        `${PROJECT}:serverSecrets.${name}.${secret}: missing; set it with \`pulumi config set --secret --path 'serverSecrets.${name}.${secret}' <value>\``,
      );
    }
  }
  for (const secret of Object.keys(values)) {
    if (expected.includes(secret)) continue;
    if (secret === 'AUTH_API_KEYS') {
      problems.push(
        `${PROJECT}:serverSecrets.${name}.AUTH_API_KEYS: only used when servers.${name}.auth.mode is apikey (it is ${server.auth?.mode ?? 'unset'}); remove it`,
      );
    } else if (secret === 'AUTH_ADMIN_API_KEYS') {
      problems.push(
        `${PROJECT}:serverSecrets.${name}.AUTH_ADMIN_API_KEYS: only used when servers.${name}.auth is { mode: apikey, adminKeys: true }; set that, or remove it`,
      );
    } else {
      problems.push(`${PROJECT}:serverSecrets.${name}.${secret}: not listed in servers.${name}.secrets`);
    }
  }
  for (const secret of generated) {
    const keys = values[secret];
    if (keys === undefined || !expected.includes(secret)) continue;
    const entries = keys.split(',').map((entry) => entry.trim());
    if (entries.some((entry) => !API_KEY_ENTRY.test(entry))) {
      // Never echo the value: it is the credential.
      problems.push(
        `${PROJECT}:serverSecrets.${name}.${secret}: expected comma-separated keys of at least 16 visible characters, or sha256:<64 hex digits> digests (value not shown)`,
      );
    }
  }
  return problems;
}
