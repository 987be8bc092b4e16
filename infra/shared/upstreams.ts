import { isUpstream, type ServerConfig } from '../config/server.js';

/**
 * The app's `UPSTREAMS` (docs/gateway.md, "The contract for the infrastructure"), built from the
 * stack's `servers`: every third-party server without its own ingress is an upstream of the app,
 * found by a DNS name whose A records are its instances, one per task (ECS Cloud Map) or per ready
 * pod (a headless Service). Pure functions: the config check, both platforms and the tests use them.
 */

export type Platform = 'ecs' | 'eks';

/**
 * The Cloud Map private DNS namespace of an ECS stack. `.internal` is reserved for private use
 * (ICANN, 2024), and each stack has its own VPC, where the namespace's private hosted zone lives.
 */
export const CLOUD_MAP_NAMESPACE = 'mcp-fleet.internal';

/** The Kubernetes namespace of one server's workload. */
export function workloadNamespace(server: string): string {
  return `mcp-${server}`;
}

/**
 * The name whose A records are the instances of upstream `name`: its Cloud Map service in the stack's
 * namespace, or its headless Service (`<service>.<namespace>.svc.cluster.local`, EKS's cluster domain).
 * Fully qualified: the gateway resolves through DNS, not the search list.
 */
export function upstreamHost(platform: Platform, name: string): string {
  return platform === 'ecs'
    ? `${name}.${CLOUD_MAP_NAMESPACE}`
    : `${name}.${workloadNamespace(name)}.svc.cluster.local`;
}

/**
 * `mcpPath` split as the gateway needs it: `/servers/<name>/<rest>` goes to `<instance><basePath>/<rest>`,
 * so `/api/mcp` is basePath `/api` and endpoint `mcp`, and clients call `/servers/<name>/mcp`.
 */
export function splitMcpPath(mcpPath: string): { basePath: string; endpoint: string } {
  const at = mcpPath.lastIndexOf('/');
  return { basePath: mcpPath.slice(0, at), endpoint: mcpPath.slice(at + 1) };
}

/** Where clients reach upstream `name` on the app: `/servers/<name>/<endpoint>`. */
export function gatewayPath(name: string, server: Pick<ServerConfig, 'mcpPath'>): string {
  return `/servers/${name}/${splitMcpPath(server.mcpPath).endpoint}`;
}

/** One `UPSTREAMS` entry, in the gateway's schema (app/gateway/upstreams-config.ts). */
export interface UpstreamEntry {
  dns: string;
  port: number;
  basePath?: string;
  headersFromEnv?: Record<string, string>;
}

/** The servers the app fronts, by name, in a stable order. */
export function upstreamServers(servers: Record<string, ServerConfig>): [string, ServerConfig][] {
  return Object.entries(servers)
    .filter(([, server]) => isUpstream(server))
    .sort(([a], [b]) => a.localeCompare(b));
}

export function upstreams(
  servers: Record<string, ServerConfig>,
  platform: Platform,
): Record<string, UpstreamEntry> {
  return Object.fromEntries(
    upstreamServers(servers).map(([name, server]) => {
      const { basePath } = splitMcpPath(server.mcpPath);
      const headers = server.upstreamHeaders;
      const entry: UpstreamEntry = {
        dns: upstreamHost(platform, name),
        port: server.port,
        ...(basePath ? { basePath } : {}),
        // The gateway reads each value from the app's environment; the secret itself never enters UPSTREAMS.
        ...(Object.keys(headers).length > 0 ? { headersFromEnv: { ...headers } } : {}),
      };
      return [name, entry];
    }),
  );
}

/** `UPSTREAMS` as the app reads it, or undefined when the stack has no upstream. */
export function upstreamsJson(servers: Record<string, ServerConfig>, platform: Platform): string | undefined {
  const entries = upstreams(servers, platform);
  return Object.keys(entries).length > 0 ? JSON.stringify(entries) : undefined;
}
