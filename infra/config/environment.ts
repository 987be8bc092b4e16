import { z } from 'zod';
import { eksSchema, ingressSchema } from './eks.js';
import { HOSTNAME, serverNameSchema, serverSchema } from './server.js';

export { INGRESS_CHARTS } from './eks.js';

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const cidr = z.string().regex(CIDR, 'expected an IPv4 CIDR such as 10.0.0.0/16');
const AZ_NAME = /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/;

/** ElastiCache AUTH tokens: 16-128 printable characters, and of the punctuation only !&#$^<>- (ElastiCache AUTH docs). */
const REDIS_AUTH_TOKEN = /^[A-Za-z0-9!&#$^<>-]{16,128}$/;

export const environmentSchema = z
  .strictObject({
    platform: z.enum(['ecs', 'eks'], 'expected "ecs" or "eks"'),
    servers: z.record(serverNameSchema, serverSchema).refine((servers) => Object.keys(servers).length > 0, {
      message: 'expected at least one server',
    }),
    /** server name → secret name → value. Set with `pulumi config set --secret --path`. */
    serverSecrets: z.record(z.string(), z.record(z.string(), z.string().min(1))).default({}),
    vpc: z
      .strictObject({
        cidr: cidr.default('10.0.0.0/16'),
        /**
         * The AZs by name, pinned so that an AZ changing state (or the account opting into a Local Zone)
         * never reorders the subnets. Unset: the first `azCount` available standard AZs of the region.
         */
        availabilityZones: z
          .array(z.string().regex(AZ_NAME, 'expected an availability zone name such as eu-west-1a'))
          .min(2, 'expected at least 2 AZs')
          .max(3)
          .optional(),
        azCount: z.int().min(2, 'expected at least 2 AZs').max(3).optional(),
        /** single: one NAT gateway (cheap, one AZ's NAT is a shared fate); perAz: one per AZ. */
        nat: z.enum(['single', 'perAz', 'none']).default('single'),
      })
      .prefault({})
      .superRefine((vpc, ctx) => {
        if (vpc.nat === 'none') {
          // Fargate (platform 1.4+) pulls images, reads secrets and ships logs through the task's own
          // network interface, and EKS nodes join through it too: without NAT each needs interface
          // endpoints (ecr.api, ecr.dkr, logs, secretsmanager, sts, eks…) plus the S3 gateway, and a
          // Docker Hub image can never be pulled. Those endpoints cost more than one NAT gateway.
          ctx.addIssue({
            code: 'custom',
            path: ['nat'],
            message:
              'none is not supported: tasks and nodes pull images, read secrets and ship logs over NAT; use single (one gateway) or perAz',
          });
        }
        if (
          vpc.availabilityZones &&
          vpc.azCount !== undefined &&
          vpc.azCount !== vpc.availabilityZones.length
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['azCount'],
            message: `expected ${vpc.availabilityZones.length} to match vpc.availabilityZones, or leave it unset`,
          });
        }
      })
      .transform((vpc) => ({
        ...vpc,
        nat: vpc.nat as 'single' | 'perAz',
        azCount: vpc.availabilityZones?.length ?? vpc.azCount ?? 2,
      })),
    redis: z
      .strictObject({
        engine: z.enum(['valkey', 'redis']).default('valkey'),
        engineVersion: z.string().optional(),
        nodeType: z
          .string()
          .startsWith('cache.', 'expected an ElastiCache node type such as cache.t4g.small')
          .default('cache.t4g.small'),
        multiAz: z.boolean().default(false),
        /** Read replicas besides the primary (of each shard with clusterMode); multi-AZ failover needs at least one. */
        replicas: z.int().min(0).max(5).default(0),
        /**
         * ElastiCache cluster mode: the keys spread over `shards` node groups, each a primary and
         * `replicas` replicas. The app gets the configuration endpoint and REDIS_CLUSTER=true.
         */
        clusterMode: z.boolean().default(false),
        /** Node groups (shards) with clusterMode; 3 by default. */
        shards: z.int().min(1).max(500).optional(),
        snapshotRetentionDays: z.int().min(0).max(35).default(0),
      })
      .prefault({}),
    /**
     * The public DNS name the stack serves under. Each server gets `<name>.<domain>` (unless its
     * ingress.host says otherwise), one ACM certificate for `<domain>` and `*.<domain>` validated by
     * DNS, and alias records in the Route 53 zone. Unset: plain HTTP on the load balancer's own name.
     */
    domain: z.string().regex(HOSTNAME, 'expected a lower-case DNS name such as mcp.example.com').optional(),
    /** The public Route 53 hosted zone holding `domain`; unset: the zone named exactly `domain`. */
    hostedZoneId: z
      .string()
      .regex(/^Z[A-Z0-9]{1,31}$/, 'expected a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ')
      .optional(),
    /** Refuse to deploy without `domain` (HTTPS): production stacks set it. */
    requireHttps: z.boolean().default(false),
    /** Secret override of the generated Redis AUTH token (`pulumi config set --secret redisAuthToken …`). */
    redisAuthToken: z
      .string()
      .regex(
        REDIS_AUTH_TOKEN,
        'expected 16-128 letters, digits or !&#$^<>- (ElastiCache AUTH token rules; value not shown)',
      )
      .optional(),
    /** Secret override of the generated MCP_STATE_KEY (`pulumi config set --secret stateKey …`). */
    stateKey: z
      .string()
      .refine((key) => Buffer.byteLength(key, 'utf8') >= 32, 'expected at least 32 bytes (value not shown)')
      .optional(),
    /**
     * The app serves /metrics on `port` (METRICS_PORT), which no load balancer or Ingress reaches.
     * ECS: an ADOT collector in each task scrapes it and ships it to CloudWatch (EMF) or Amazon
     * Managed Prometheus (`none` runs no collector). EKS: pods of `scrapeNamespace` may scrape it.
     */
    metrics: z
      .strictObject({
        exporter: z
          .enum(['cloudwatch', 'amp', 'none'], 'expected "cloudwatch", "amp" or "none"')
          .default('cloudwatch'),
        port: z.int().min(1024).max(65535).default(9464),
        scrapeIntervalSeconds: z.int().min(10).max(300).default(60),
        /** EKS: the namespace whose pods may scrape METRICS_PORT (the NetworkPolicy admits it, and only there). */
        scrapeNamespace: z
          .string()
          .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected a Kubernetes namespace name')
          .default('monitoring'),
        /** EKS: also create a prometheus-operator PodMonitor per app server (the CRD must be installed). */
        podMonitor: z.boolean().default(false),
      })
      .prefault({}),
    logRetentionDays: z
      .int()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `expected one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(30),
    deletionProtection: z.boolean().default(false),
    image: z
      .strictObject({
        /** docker-build builds on preview by default, so PR previews need Docker; false skips that. */
        buildOnPreview: z.boolean().default(true),
        platform: z.enum(['linux/amd64', 'linux/arm64']).default('linux/amd64'),
      })
      .prefault({}),
    ecs: z
      .strictObject({
        containerInsights: z.enum(['enabled', 'enhanced']).default('enabled'),
        healthCheckGracePeriodSeconds: z.int().min(0).max(600).default(60),
        /** The ALB idle timeout; SSE streams idle longer than this are cut. */
        idleTimeoutSeconds: z.int().min(1).max(4000).default(3600),
      })
      .prefault({}),
    eks: eksSchema,
    ingress: ingressSchema,
  })
  .superRefine((env, ctx) => {
    if (env.requireHttps && !env.domain) {
      ctx.addIssue({
        code: 'custom',
        path: ['domain'],
        message:
          'required: this stack sets requireHttps (it serves production traffic over HTTPS only); set it with `pulumi config set domain mcp.example.com`, a name whose public Route 53 hosted zone is in this account (or also set hostedZoneId)',
      });
    }
    if (env.hostedZoneId && !env.domain) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostedZoneId'],
        message: 'only used with domain; set domain too',
      });
    }
    if (env.redis.shards !== undefined && !env.redis.clusterMode) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'shards'],
        message: 'only used with clusterMode: true; set clusterMode too, or leave shards unset',
      });
    }
    // The app's relay uses sharded pub/sub (SPUBLISH), which Redis OSS has from 7.0 (Valkey: always).
    const major = Number(env.redis.engineVersion?.split('.')[0]);
    if (env.redis.engine === 'redis' && env.redis.engineVersion !== undefined && !(major >= 7)) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'engineVersion'],
        message: 'expected 7.0 or later: the app uses sharded pub/sub (SPUBLISH/SSUBSCRIBE)',
      });
    }
    if (env.redis.multiAz && env.redis.replicas < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'replicas'],
        message: 'expected at least 1 replica when multiAz is true',
      });
    }
    const { nodeGroup, endpoint } = env.eks;
    if (
      nodeGroup.min > nodeGroup.max ||
      nodeGroup.desired < nodeGroup.min ||
      nodeGroup.desired > nodeGroup.max
    ) {
      ctx.addIssue({ code: 'custom', path: ['eks', 'nodeGroup'], message: 'expected min <= desired <= max' });
    }
    if (env.platform === 'eks' && endpoint.publicAccess && endpoint.publicAccessCidrs.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['eks', 'endpoint', 'publicAccessCidrs'],
        message: 'expected the CIDRs allowed to reach the public API endpoint (or publicAccess: false)',
      });
    }
    endpoint.publicAccessCidrs.forEach((block, index) => {
      if (block.endsWith('/0')) {
        ctx.addIssue({
          code: 'custom',
          path: ['eks', 'endpoint', 'publicAccessCidrs', index],
          message: 'refusing a CIDR open to the world',
        });
      }
    });
  });

export type EnvironmentInput = z.input<typeof environmentSchema>;
export type ParsedEnvironment = z.output<typeof environmentSchema>;
