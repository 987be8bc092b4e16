import { z } from 'zod';

/**
 * `UPSTREAMS`: the third-party MCP servers this node fronts at `/servers/<name>/…`, as JSON.
 *
 *   {"github": {"urls": ["http://10.0.1.5:8080", "http://10.0.1.6:8080"]}}
 *   {"github": {"dns": "github.mcp.internal", "port": 8080, "headersFromEnv": {"Authorization": "GITHUB_MCP_AUTHORIZATION"}}}
 *
 * The JSON itself holds no secret, so a stack can keep it in plain config. An upstream's own
 * credentials come from `headersFromEnv`: header name → the name of an environment variable
 * (injected from the platform's secret store) whose value is the whole header value.
 */

/** A DNS label, as Kubernetes and Cloud Map names are: it is also the first path segment. */
export const UPSTREAM_NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** RFC 9110 `token`: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the gateway sets itself, or that belong to one connection: an upstream cannot override them. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'mcp-session-id',
]);

const instanceUrl = z.string().refine((raw) => {
  try {
    const url = new URL(raw);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' &&
      url.password === '' &&
      url.search === '' &&
      url.hash === '' &&
      !raw.endsWith('/')
    );
  } catch {
    return false;
  }
}, 'expected an http:// or https:// base URL without credentials, query or trailing slash, e.g. http://10.0.1.5:8080');

const upstreamSchema = z
  .strictObject({
    /** Fixed instances: each URL is one instance (a base path is allowed: `http://h:8080/base`). */
    urls: z
      .array(instanceUrl, 'expected an array of instance URLs')
      .min(1, 'expected at least one URL')
      .optional(),
    /** Discovered instances: every A record of this name is one instance, re-resolved every `refreshSeconds`. */
    dns: z.string().regex(HOSTNAME, 'expected a DNS name such as github.mcp.internal').optional(),
    port: z
      .int('expected an integer port')
      .min(1, 'expected a port in 1-65535')
      .max(65535, 'expected a port in 1-65535')
      .optional(),
    scheme: z.enum(['http', 'https'], 'expected "http" or "https"').optional(),
    /** With `dns`: a path prefix on every instance, e.g. `/api`. */
    basePath: z
      .string()
      .regex(
        /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/,
        'expected a path such as /api, without a trailing slash',
      )
      .refine(
        (path) => !path.split('/').some((segment) => segment === '.' || segment === '..'),
        'expected no . or .. segments',
      )
      .optional(),
    refreshSeconds: z
      .int('expected an integer')
      .min(1, 'expected 1 to 300')
      .max(300, 'expected 1 to 300')
      .optional(),
    headersFromEnv: z
      .record(z.string(), z.string().regex(ENV_NAME, 'expected the name of an environment variable'))
      // Keys are checked here: zod reports a bad record key only as "Invalid key in record".
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers)) {
          const problem = !HEADER_NAME.test(name)
            ? 'expected an HTTP header name'
            : RESERVED_HEADERS.has(name.toLowerCase())
              ? 'expected a header the gateway does not set itself'
              : undefined;
          if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
        }
      })
      .optional(),
  })
  .superRefine((upstream, ctx) => {
    const discovered = upstream.dns !== undefined;
    if (discovered === (upstream.urls !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one of "urls" (a list of instance URLs) or "dns" (a name whose A records are the instances), got ${discovered ? 'both' : 'neither'}`,
      });
      return;
    }
    if (discovered && upstream.port === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        message: 'required with "dns": the port every instance listens on',
      });
    }
    if (!discovered) {
      for (const key of ['port', 'scheme', 'basePath', 'refreshSeconds'] as const) {
        if (upstream[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'only used with "dns"; put it in each URL instead',
          });
        }
      }
    }
  });

const upstreamsSchema = z
  .record(z.string(), upstreamSchema, 'expected a JSON object of upstreams by name')
  .superRefine((upstreams, ctx) => {
    for (const name of Object.keys(upstreams)) {
      if (!UPSTREAM_NAME.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'expected an upstream name of lower-case letters, digits and dashes (a DNS label)',
        });
      }
    }
  });

/** How one upstream's instances are found. */
export type InstanceSource =
  | { kind: 'urls'; urls: string[] }
  | {
      kind: 'dns';
      hostname: string;
      port: number;
      scheme: 'http' | 'https';
      basePath: string;
      refreshSeconds: number;
    };

export interface UpstreamConfig {
  name: string;
  source: InstanceSource;
  /** Headers added to every request to this upstream. Secret: never logged. */
  secretHeaders: Record<string, string>;
}

export const DEFAULT_DNS_REFRESH_SECONDS = 5;

/**
 * Parses `UPSTREAMS` and reads the secret headers it names from `env`. Problems are reported as
 * `UPSTREAMS.<name>.<key>: <what was expected>`, every one at once; secret values never appear.
 */
export function parseUpstreams(
  raw: string | undefined,
  env: NodeJS.ProcessEnv,
): { upstreams: UpstreamConfig[]; problems: string[] } {
  if (raw === undefined || raw.trim() === '') return { upstreams: [], problems: [] };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return {
      upstreams: [],
      problems: [
        `UPSTREAMS: expected JSON such as {"github": {"urls": ["http://10.0.1.5:8080"]}}: ${(err as Error).message}`,
      ],
    };
  }
  const parsed = upstreamsSchema.safeParse(json);
  if (!parsed.success) {
    return {
      upstreams: [],
      problems: parsed.error.issues.map(
        (issue) => `${['UPSTREAMS', ...issue.path].join('.')}: ${issue.message}`,
      ),
    };
  }
  const problems: string[] = [];
  const upstreams = Object.entries(parsed.data).map(([name, upstream]): UpstreamConfig => {
    const secretHeaders: Record<string, string> = {};
    for (const [header, variable] of Object.entries(upstream.headersFromEnv ?? {})) {
      const value = env[variable];
      if (value === undefined || value.trim() === '') {
        problems.push(
          `UPSTREAMS.${name}.headersFromEnv.${header}: the environment variable ${variable} is not set`,
        );
      } else if (/[\r\n\0]/.test(value)) {
        problems.push(
          `UPSTREAMS.${name}.headersFromEnv.${header}: the environment variable ${variable} holds a line break or NUL, which no header value may (value not shown)`,
        );
      } else {
        secretHeaders[header.toLowerCase()] = value.trim();
      }
    }
    const source: InstanceSource = upstream.dns
      ? {
          kind: 'dns',
          hostname: upstream.dns,
          port: upstream.port ?? 0,
          scheme: upstream.scheme ?? 'http',
          basePath: upstream.basePath ?? '',
          refreshSeconds: upstream.refreshSeconds ?? DEFAULT_DNS_REFRESH_SECONDS,
        }
      : { kind: 'urls', urls: [...new Set(upstream.urls ?? [])] };
    return { name, source, secretHeaders };
  });
  return { upstreams, problems };
}

/** `UPSTREAM_DNS_SERVERS` entries: an IPv4 address with an optional port, or a bracketed IPv6 one. */
export const DNS_SERVER =
  /^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:]+:[0-9a-fA-F:.]*)$/;
