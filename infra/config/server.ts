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
    ingress: z
      .strictObject({
        host: z
          .string()
          .regex(HOSTNAME, 'expected a lower-case DNS hostname such as mcp.example.com')
          .optional(),
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
      })
      .prefault({}),
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
export type ProbeConfig = ServerConfig['probes']['liveness'];
