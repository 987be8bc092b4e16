import { z } from 'zod';
import { looksLikeSecretName } from '../shared/secret-names.js';
import { AUTH_ENV, AUTH_SOURCE, authSchema, authSecretNames, DEFAULT_APP_AUTH } from './auth.js';

export { AUTH_ENV, AUTH_SECRETS, type AuthConfig, authSecretNames } from './auth.js';

/**
 * The `servers` map, modelled on the Helm values users already know (image, port, replicas,
 * autoscaling, probes, env, secrets, resources, ingress). One schema serves both platforms.
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const SERVER_NAME = /^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/;
/** `/` or `/a/b`: no trailing slash and only unreserved URL characters, so it can sit inside a rewrite regex. */
const INGRESS_PATH = /^\/$|^(\/[A-Za-z0-9._~-]+)+$/;

/** ALB listener-rule priorities 1-99 are the program's own (the private-path block is 1). */
export const FIRST_ROUTE_PRIORITY = 100;
/** The ALB's highest listener-rule priority. */
export const LAST_ROUTE_PRIORITY = 50_000;

/**
 * Variables the platform sets itself or injects from Secrets Manager. Setting them in `env`
 * would either be overwritten or, worse, put a credential in plaintext into the task definition.
 */
export const PLATFORM_ENV = [
  'PORT',
  'HOST',
  'NODE_ENV',
  'SHUTDOWN_GRACE_SECONDS',
  'REDIS_KEY_PREFIX',
  'REDIS_CLUSTER',
] as const;
export const GENERATED_SECRETS = ['REDIS_URL', 'MCP_STATE_KEY'] as const;
function probeSchema(defaults: { path: string; initialDelaySeconds: number; failureThreshold: number }) {
  return z
    .strictObject({
      /** `http` probes `path`; `tcp` only checks the port accepts connections (images without a health route). */
      type: z.enum(['http', 'tcp']).default('http'),
      path: z.string().startsWith('/', 'expected a path starting with "/"').default(defaults.path),
      initialDelaySeconds: z.int().min(0).max(600).default(defaults.initialDelaySeconds),
      periodSeconds: z.int().min(1).max(300).default(10),
      timeoutSeconds: z.int().min(1).max(60).default(5),
      failureThreshold: z.int().min(1).max(120).default(defaults.failureThreshold),
    })
    .prefault({});
}

/** Where a server is public: host, path prefix, listener-rule priority, streaming. */
const ingressSchema = z.strictObject({
  host: z.string().regex(HOSTNAME, 'expected a lower-case DNS hostname such as mcp.example.com').optional(),
  /**
   * The public path prefix. The load balancer strips it before the request reaches the server
   * (ALB url-rewrite transform, nginx rewrite annotations), so servers always see `/mcp`.
   */
  path: z
    .string()
    .regex(INGRESS_PATH, 'expected "/" or a prefix such as /team-a (no trailing slash)')
    .default('/'),
  /**
   * ECS: the ALB listener-rule priority. Unset: derived from host and path, so it never moves
   * when other servers are added, removed or reordered.
   */
  priority: z.int().min(FIRST_ROUTE_PRIORITY).max(LAST_ROUTE_PRIORITY).optional(),
  /** Long-lived SSE streams: long proxy timeouts and no buffering. */
  sse: z.boolean().default(true),
  /** EKS: a kubernetes.io/tls Secret in the server's namespace; enables TLS on the Ingress. */
  tlsSecretName: z.string().optional(),
});

export const serverSchema = z
  .strictObject({
    /** `app` builds the in-repo server from app/Dockerfile; exclusive with `image`. */
    build: z.literal('app', 'expected "app" (the in-repo server) — use `image` for anything else').optional(),
    /** A pullable image reference for a third-party server, pinned by digest: `registry/name@sha256:…`. */
    image: z.string().min(1).optional(),
    /** The full argv (exec form): replaces the image ENTRYPOINT and drops its CMD (ECS `entryPoint`, K8s `command`). */
    command: z.array(z.string()).optional(),
    /** Arguments after the image's ENTRYPOINT, replacing its CMD (ECS `command`, K8s `args`). */
    args: z.array(z.string()).optional(),
    /**
     * The image's own ENTRYPOINT and CMD, as `docker inspect` shows them (inherited ones included).
     * Nothing here changes what runs; it records what `command`/`args` combine with, so the tests
     * can tell whether the container starts.
     */
    imageConfig: z
      .strictObject({
        entrypoint: z.array(z.string()).default([]),
        cmd: z.array(z.string()).default([]),
      })
      .optional(),
    port: z
      .int('expected an integer port')
      .min(1, 'expected a port in 1-65535')
      .max(65535, 'expected a port in 1-65535')
      .default(3000),
    /** Where the server answers MCP; used for the published URL. */
    mcpPath: z.string().startsWith('/', 'expected a path starting with "/"').default('/mcp'),
    replicas: z.int().min(1).max(100).default(2),
    /** Seconds the server needs to drain after SIGTERM (the app's SHUTDOWN_GRACE_SECONDS). */
    drainSeconds: z
      .int()
      .min(0)
      .max(110, 'expected at most 110 s: Fargate stops a task 120 s after SIGTERM')
      .default(25),
    /** Whether the server uses the shared Redis; such servers get REDIS_URL and MCP_STATE_KEY. */
    redis: z.boolean().optional(),
    autoscaling: z
      .strictObject({
        enabled: z.boolean().default(false),
        min: z.int().min(1).max(100).default(2),
        max: z.int().min(1).max(200).default(10),
        cpuTarget: z.int().min(10).max(95).default(60),
        /** ECS only: ALB requests per target that trigger a scale-out. */
        requestsPerTarget: z.int().min(1).default(1000),
      })
      .prefault({}),
    probes: z
      .strictObject({
        // Liveness must not depend on Redis: /live answers while the process does. /ready gates traffic.
        liveness: probeSchema({ path: '/live', initialDelaySeconds: 0, failureThreshold: 3 }),
        readiness: probeSchema({ path: '/ready', initialDelaySeconds: 0, failureThreshold: 3 }),
        startup: probeSchema({ path: '/live', initialDelaySeconds: 0, failureThreshold: 30 }),
      })
      .prefault({}),
    env: z
      .record(z.string().regex(ENV_NAME, 'expected an environment variable name'), z.string())
      .default({}),
    /**
     * Authentication of callers. Defaults to `{ mode: apikey }` for `build: app` (the app refuses to
     * start in production without an explicit mode); other images get it only when set.
     */
    auth: authSchema.optional(),
    /** Names of variables whose values come from `serverSecrets` through Secrets Manager. */
    secrets: z.array(z.string().regex(ENV_NAME, 'expected an environment variable name')).default([]),
    resources: z
      .strictObject({
        /** CPU units (1024 = 1 vCPU); on EKS becomes requests/limits in millicores. */
        cpu: z.int().min(128).default(512),
        /** MiB. */
        memory: z.int().min(128).default(1024),
      })
      .prefault({}),
    /**
     * Where the server is public. `build: app` always is (default `{}`: path `/`). A third-party
     * image takes its own ingress only when it is `stateless: true`; otherwise it has none and is
     * reached through the app's gateway at `/servers/<name>/…` (docs/gateway.md).
     */
    ingress: ingressSchema.optional(),
    /**
     * A third-party server that keeps no session in process memory: any instance answers any request,
     * so it may take its own ingress behind round robin. Unset (false): it is reached only through
     * the app's gateway, which pins each session to the instance that holds it.
     */
    stateless: z.boolean().default(false),
    /**
     * Headers the app's gateway adds to every request to this server: header name → the name of a
     * secret in `serverSecrets.<name>` holding the whole header value (`Bearer …`). The value is
     * delivered to the app's container, never to this server's (the gateway's `headersFromEnv`).
     */
    upstreamHeaders: z
      .record(
        z.string(),
        z.string().regex(ENV_NAME, 'expected the name of a secret (an environment variable name)'),
      )
      .default({}),
    /** Numeric UID the container runs as (the node image's `node` user is 1000). */
    runAsUser: z.int().min(1, 'expected a non-root UID (>= 1)').default(1000),
    /**
     * Default true for `build: app`, false for `image`: on Fargate a scratch volume is root-owned and
     * cannot be made writable for a non-root user (aws/containers-roadmap#938), so a third-party image
     * that writes to /tmp would fail there with a read-only root.
     */
    readOnlyRootFilesystem: z.boolean().optional(),
    /** IAM policy ARNs the server needs (task role on ECS, Pod Identity on EKS). */
    awsPolicyArns: z.array(z.string().startsWith('arn:aws')).default([]),
  })
  .superRefine((server, ctx) => {
    if (server.build === undefined && server.image === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'expected exactly one of `build: app` or `image`, got neither',
      });
    }
    if (server.build !== undefined && server.image !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'expected exactly one of `build: app` or `image`, got both',
      });
    }
    if (server.autoscaling.min > server.autoscaling.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['autoscaling', 'min'],
        message: `expected min (${server.autoscaling.min}) <= max (${server.autoscaling.max})`,
      });
    }
    for (const name of Object.keys(server.env)) {
      if ((AUTH_ENV as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['env', name],
          message:
            'is set from `auth`; use auth.mode (and auth.adminKeys for apikey; auth.issuer, auth.audience, auth.jwksUrl, auth.adminScope for oauth)',
        });
      } else if (
        (PLATFORM_ENV as readonly string[]).includes(name) ||
        (GENERATED_SECRETS as readonly string[]).includes(name)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['env', name],
          message: `is set by the platform; remove it from env`,
        });
      } else if (looksLikeSecretName(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['env', name],
          message:
            'looks like a credential; list it under `secrets` and set its value with `pulumi config set --secret`',
        });
      }
      if (server.secrets.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['env', name],
          message: 'is also listed in secrets; keep it in one place',
        });
      }
    }
    if (server.env.UPSTREAMS !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['env', 'UPSTREAMS'],
        message:
          'is built from the stack: every third-party server without its own ingress is an upstream of the app; declare it under servers',
      });
    }
    const thirdParty = server.image !== undefined;
    if (thirdParty && server.ingress !== undefined && !server.stateless) {
      // Finding 4: round robin over replicas that keep sessions in memory loses the sessions.
      ctx.addIssue({
        code: 'custom',
        path: ['ingress'],
        message:
          'a third-party server takes its own ingress only when declared `stateless: true`: behind round robin, replicas that keep sessions in process memory lose them (clients get "No valid session ID", SSE clients hang). Remove `ingress`: clients then reach it through the app\'s gateway at /servers/<name>/…, which pins each session to its instance; or set `stateless: true` if it keeps no session in memory',
      });
    }
    if (!thirdParty && server.stateless) {
      ctx.addIssue({
        code: 'custom',
        path: ['stateless'],
        message:
          'only for third-party images; the app keeps its sessions in Redis and serves any request on any node',
      });
    }
    if (Object.keys(server.upstreamHeaders).length > 0 && (!thirdParty || server.ingress !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['upstreamHeaders'],
        message:
          "only for a third-party server reached through the app's gateway (an image without its own ingress): the gateway adds these headers",
      });
    }
    server.secrets.forEach((name, index) => {
      if ((AUTH_ENV as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['secrets', index],
          message: `${name} is delivered by ${AUTH_SOURCE[name] ?? '`auth`'}; remove it from secrets`,
        });
      }
    });
  })
  .transform((server) => ({
    ...server,
    ingress: server.ingress ?? (server.build === 'app' ? ingressSchema.parse({}) : undefined),
    redis: server.redis ?? server.build === 'app',
    readOnlyRootFilesystem: server.readOnlyRootFilesystem ?? server.build === 'app',
    auth: server.auth ?? (server.build === 'app' ? DEFAULT_APP_AUTH : undefined),
  }));

export const serverNameSchema = z
  .string()
  .regex(
    SERVER_NAME,
    'expected a lower-case name of 1-20 letters, digits and dashes, starting with a letter',
  );

export type ServerConfig = z.output<typeof serverSchema>;

/** Every secret a server receives from `serverSecrets`: its own `secrets`, plus those of its `auth`. */
export function secretNames(server: Pick<ServerConfig, 'secrets' | 'auth'>): string[] {
  return [...server.secrets, ...authSecretNames(server)];
}

/** The secrets of `serverSecrets.<name>` that the app's gateway sends to this server as headers. */
export function upstreamHeaderSecrets(server: Pick<ServerConfig, 'upstreamHeaders'>): string[] {
  return [...new Set(Object.values(server.upstreamHeaders))];
}

/** A server with its own route through the load balancer (the app, or a stateless third-party server). */
export type PublicServer = ServerConfig & { ingress: IngressConfig };
export type IngressConfig = z.output<typeof ingressSchema>;

export function isPublic(server: ServerConfig): server is PublicServer {
  return server.ingress !== undefined;
}

/** A third-party server reached only through the app's gateway (`/servers/<name>/…`). */
export function isUpstream(server: ServerConfig): boolean {
  return server.image !== undefined && server.ingress === undefined;
}
export type ProbeConfig = ServerConfig['probes']['liveness'];
