import { ENV_VARIABLES } from '../../app/config.js';
import { parseUpstreams } from '../../app/gateway/upstreams-config.js';
import { type Platform, splitMcpPath, upstreamServers, upstreamsJson } from '../shared/upstreams.js';
import { type ServerConfig, secretNames, upstreamHeaderSecrets } from './server.js';

/**
 * The stack-wide rules of the gateway: third-party servers without their own ingress become the
 * app's `UPSTREAMS` (infra/shared/upstreams.ts). The JSON is checked with the app's own parser, so
 * what the app would refuse at start is refused at preview, under the stack key that causes it.
 */

/**
 * Route 53 answers a MULTIVALUE query with at most eight healthy records ("DnsConfig", Cloud Map API
 * reference). The gateway treats an instance missing from the answer as gone (its sessions get 404),
 * so an ECS upstream with more tasks would lose sessions at random on every re-resolution.
 */
export const CLOUD_MAP_MAX_ANSWERS = 8;

export function checkGateway(
  servers: Record<string, ServerConfig>,
  platform: Platform,
  project: string,
): string[] {
  const fronted = upstreamServers(servers);
  if (fronted.length === 0) return [];
  const problems: string[] = [];
  const apps = Object.entries(servers).filter(([, server]) => server.build === 'app');
  if (apps.length !== 1) {
    problems.push(
      `${project}:servers: ${fronted.map(([name]) => name).join(', ')} ${fronted.length === 1 ? 'is' : 'are'} reached through the app's gateway, which needs exactly one \`build: app\` server; found ${apps.length}`,
    );
  }
  for (const [name, server] of fronted) {
    const at = `${project}:servers.${name}`;
    if (splitMcpPath(server.mcpPath).endpoint === '') {
      problems.push(
        `${at}.mcpPath: ${server.mcpPath} names no endpoint; expected the path the server answers MCP on, such as /mcp`,
      );
    }
    if (platform === 'ecs') {
      const most = server.autoscaling.enabled ? server.autoscaling.max : server.replicas;
      if (most > CLOUD_MAP_MAX_ANSWERS) {
        problems.push(
          `${at}.${server.autoscaling.enabled ? 'autoscaling.max' : 'replicas'}: ${most} tasks, but Cloud Map answers the gateway with at most ${CLOUD_MAP_MAX_ANSWERS} of them, and a session pinned to an instance missing from the answer gets 404; expected at most ${CLOUD_MAP_MAX_ANSWERS}`,
        );
      }
    }
  }
  problems.push(...checkHeaderSecrets(servers, fronted, project));
  problems.push(...appProblems(servers, platform, project));
  return problems;
}

/**
 * Each header secret becomes a variable of the app's container: its name must be one the app does
 * not read itself, nor one the app's server already sets, nor another upstream's.
 */
function checkHeaderSecrets(
  servers: Record<string, ServerConfig>,
  fronted: [string, ServerConfig][],
  project: string,
): string[] {
  const problems: string[] = [];
  const app = Object.values(servers).find((server) => server.build === 'app');
  const taken = new Set([...Object.keys(app?.env ?? {}), ...(app ? secretNames(app) : [])]);
  const owners = new Map<string, string>();
  for (const [name, server] of fronted) {
    for (const [header, secret] of Object.entries(server.upstreamHeaders)) {
      const at = `${project}:servers.${name}.upstreamHeaders.${header}`;
      if (ENV_VARIABLES.includes(secret) || taken.has(secret)) {
        problems.push(
          `${at}: ${secret} is a variable the app already has; name the secret after this server, e.g. ${name.toUpperCase().replaceAll('-', '_')}_${header.toUpperCase().replaceAll('-', '_')}`,
        );
      }
      const owner = owners.get(secret);
      if (owner && owner !== name) {
        problems.push(
          `${at}: ${secret} is also server "${owner}"'s header secret; each upstream needs its own`,
        );
      }
      owners.set(secret, name);
    }
  }
  return problems;
}

/** The app's own parse of the UPSTREAMS the program will give it; secret values stand in as a placeholder. */
function appProblems(servers: Record<string, ServerConfig>, platform: Platform, project: string): string[] {
  const placeholders = Object.fromEntries(
    Object.values(servers)
      .flatMap((server) => upstreamHeaderSecrets(server))
      .map((secret) => [secret, 'placeholder']),
  );
  const { problems } = parseUpstreams(upstreamsJson(servers, platform), placeholders);
  return problems.map((problem) => {
    // `UPSTREAMS.<name>.<key>…: message` → the stack key that produced it.
    const match = /^UPSTREAMS\.([^.:]+)(?:\.([^:]+))?: (.*)$/.exec(problem);
    if (!match) return `${project}:servers: UPSTREAMS would be refused by the app: ${problem}`;
    const [, name, key = '', message] = match;
    const stackKey = key.startsWith('headersFromEnv')
      ? key.replace('headersFromEnv', 'upstreamHeaders')
      : key === 'basePath'
        ? 'mcpPath'
        : key;
    return `${project}:servers.${name}${stackKey ? `.${stackKey}` : ''}: ${message}`;
  });
}
