import { z } from 'zod';
import { serverNameSchema, serverSchema } from './server.js';

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const cidr = z.string().regex(CIDR, 'expected an IPv4 CIDR such as 10.0.0.0/16');

/** Pinned chart versions: a controller upgrade is a reviewed config change, never a surprise. */
export const INGRESS_CHARTS = {
  'f5-nginx': { chart: 'oci://ghcr.io/nginx/charts/nginx-ingress', version: '2.4.4' },
  'ingress-nginx': {
    chart: 'ingress-nginx',
    repo: 'https://kubernetes.github.io/ingress-nginx',
    version: '4.15.1',
  },
} as const;

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
        azCount: z.int().min(2, 'expected at least 2 AZs').max(3).default(2),
        /** single: one NAT gateway (cheap, one AZ's NAT is a shared fate); perAz: one per AZ; none: no egress. */
        nat: z.enum(['single', 'perAz', 'none']).default('single'),
      })
      .prefault({}),
    redis: z
      .strictObject({
        engine: z.enum(['valkey', 'redis']).default('valkey'),
        engineVersion: z.string().optional(),
        nodeType: z
          .string()
          .startsWith('cache.', 'expected an ElastiCache node type such as cache.t4g.small')
          .default('cache.t4g.small'),
        multiAz: z.boolean().default(false),
        /** Read replicas besides the primary; multi-AZ failover needs at least one. */
        replicas: z.int().min(0).max(5).default(0),
        snapshotRetentionDays: z.int().min(0).max(35).default(0),
      })
      .prefault({}),
    certificateArn: z.string().startsWith('arn:aws:acm:', 'expected an ACM certificate ARN').optional(),
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
    eks: z
      .strictObject({
        version: z
          .string()
          .regex(/^1\.\d{2}$/, 'expected a Kubernetes minor version such as 1.33')
          .default('1.33'),
        /** managed: an AL2023 managed node group; auto: EKS Auto Mode runs the nodes. */
        compute: z.enum(['managed', 'auto']).default('managed'),
        nodeGroup: z
          .strictObject({
            instanceTypes: z.array(z.string()).min(1).default(['t3.large']),
            capacityType: z.enum(['ON_DEMAND', 'SPOT']).default('ON_DEMAND'),
            min: z.int().min(1).default(2),
            desired: z.int().min(1).default(2),
            max: z.int().min(1).default(4),
          })
          .prefault({}),
        endpoint: z
          .strictObject({
            publicAccess: z.boolean().default(true),
            /** Who may reach the public API endpoint; 0.0.0.0/0 is refused. */
            publicAccessCidrs: z.array(cidr).default([]),
          })
          .prefault({}),
        adminRoleArns: z.array(z.string().startsWith('arn:aws:iam::')).default([]),
        ciRoleArns: z.array(z.string().startsWith('arn:aws:iam::')).default([]),
      })
      .prefault({}),
    ingress: z
      .strictObject({
        controller: z
          .enum(['f5-nginx', 'ingress-nginx'], 'expected "f5-nginx" or "ingress-nginx"')
          .default('f5-nginx'),
        chartVersion: z.string().optional(),
      })
      .prefault({}),
  })
  .superRefine((env, ctx) => {
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
