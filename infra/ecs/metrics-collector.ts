import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

/**
 * Metrics on ECS: the app serves /metrics on METRICS_PORT, which no load balancer reaches. An AWS
 * Distro for OpenTelemetry (ADOT) collector runs next to it in every task, scrapes it over the
 * task's loopback (containers of an awsvpc task share one network namespace, "Fargate task
 * networking", ECS docs) and ships the samples to CloudWatch as EMF or to Amazon Managed Prometheus.
 */

/** Pinned: a collector upgrade is a reviewed change (ADOT releases: aws-observability/aws-otel-collector). */
export const ADOT_IMAGE = 'public.ecr.aws/aws-observability/aws-otel-collector:v0.47.0';
export const COLLECTOR_CONTAINER = 'metrics-collector';
/** The image is FROM scratch with no USER, so it would run as root; any non-root UID works for it. */
export const COLLECTOR_USER = '10001';

export type MetricsExporter = 'cloudwatch' | 'amp';

/** One IAM policy statement. */
export interface PolicyStatement {
  Effect: 'Allow';
  Action: string | string[];
  Resource: string | string[];
}

export interface MetricsSinkArgs {
  exporter: MetricsExporter;
  logRetentionDays: number;
  tags: Record<string, string>;
}

/** Where every task's collector ships: one EMF log group, or one AMP workspace. */
export class MetricsSink extends pulumi.ComponentResource {
  readonly exporter: MetricsExporter;
  /** CloudWatch metric namespace of the EMF metrics. */
  readonly namespace: string;
  readonly logGroupName?: pulumi.Output<string>;
  /** AMP: the workspace's remote-write URL. */
  readonly remoteWriteUrl?: pulumi.Output<string>;
  /** The IAM statement a task role needs to ship here, and nothing else. */
  readonly statement: pulumi.Output<PolicyStatement>;

  constructor(name: string, args: MetricsSinkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:ecs:MetricsSink', name, {}, opts);
    const stack = pulumi.getStack();
    this.exporter = args.exporter;
    this.namespace = `MCPFleet/${stack}`;
    if (args.exporter === 'cloudwatch') {
      // Created here, not by the exporter, so that it has a retention.
      const logGroup = new aws.cloudwatch.LogGroup(
        `${name}-metrics`,
        { name: `/mcp-fleet/${stack}/metrics`, retentionInDays: args.logRetentionDays, tags: args.tags },
        { parent: this },
      );
      this.logGroupName = logGroup.name;
      this.statement = logGroup.arn.apply(
        (arn): PolicyStatement => ({
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
          Resource: [arn, `${arn}:*`],
        }),
      );
    } else {
      const workspace = new aws.amp.Workspace(
        `${name}-metrics`,
        { alias: `mcp-fleet-${stack}`, tags: args.tags },
        { parent: this },
      );
      this.remoteWriteUrl = pulumi.interpolate`${workspace.prometheusEndpoint}api/v1/remote_write`;
      this.statement = workspace.arn.apply(
        (arn): PolicyStatement => ({
          Effect: 'Allow',
          Action: 'aps:RemoteWrite',
          Resource: arn,
        }),
      );
    }
    this.registerOutputs({});
  }
}

export interface CollectorArgs {
  sink: MetricsSink;
  /** The server whose app container is scraped; the `server` label and the EMF log stream. */
  server: string;
  metricsPort: number;
  scrapeIntervalSeconds: number;
  region: pulumi.Input<string>;
}

/**
 * The collector's configuration, as JSON (a YAML subset the collector reads), passed in
 * AOT_CONFIG_CONTENT ("ECS: configure the collector with AOT_CONFIG_CONTENT", ADOT docs). No `$` may
 * appear in it: the collector expands `${…}` in its configuration.
 */
export function collectorConfig(args: CollectorArgs): pulumi.Output<string> {
  const { sink, server } = args;
  return pulumi
    .all([pulumi.output(args.region), sink.logGroupName, sink.remoteWriteUrl])
    .apply(([region, logGroupName, remoteWriteUrl]) => {
      const amp = sink.exporter === 'amp';
      const exporter = amp
        ? { prometheusremotewrite: { endpoint: remoteWriteUrl, auth: { authenticator: 'sigv4auth' } } }
        : {
            awsemf: {
              region,
              namespace: sink.namespace,
              log_group_name: logGroupName,
              log_stream_name: server,
              dimension_rollup_option: 'NoDimensionRollup',
              // Everything scraped lands in the log group; these few become CloudWatch metrics, with
              // bounded dimensions (one per task would multiply the bill by the task count).
              metric_declarations: [
                {
                  dimensions: [['server', 'tool', 'status']],
                  metric_name_selectors: ['^mcp_tool_calls_total'],
                },
                {
                  dimensions: [['server', 'route', 'status']],
                  metric_name_selectors: ['^mcp_http_requests_total'],
                },
                {
                  dimensions: [['server']],
                  metric_name_selectors: ['^mcp_active_sessions', '^mcp_session_restores_total'],
                },
              ],
            },
          };
      return JSON.stringify({
        ...(amp ? { extensions: { sigv4auth: { region, service: 'aps' } } } : {}),
        receivers: {
          prometheus: {
            config: {
              scrape_configs: [
                {
                  job_name: server,
                  scrape_interval: `${args.scrapeIntervalSeconds}s`,
                  static_configs: [{ targets: [`127.0.0.1:${args.metricsPort}`], labels: { server } }],
                },
              ],
            },
          },
        },
        processors: { batch: {} },
        exporters: exporter,
        service: {
          ...(amp ? { extensions: ['sigv4auth'] } : {}),
          pipelines: {
            metrics: { receivers: ['prometheus'], processors: ['batch'], exporters: Object.keys(exporter) },
          },
        },
      });
    });
}

/** The collector's container definition: not essential (lost metrics never stop the app), non-root. */
export function collectorContainer(args: {
  config: string;
  appContainer: string;
  logGroup: string;
  region: string;
}) {
  return {
    name: COLLECTOR_CONTAINER,
    image: ADOT_IMAGE,
    essential: false,
    user: COLLECTOR_USER,
    readonlyRootFilesystem: true,
    environment: [{ name: 'AOT_CONFIG_CONTENT', value: args.config }],
    // Nothing to scrape before the app has started.
    dependsOn: [{ containerName: args.appContainer, condition: 'START' }],
    linuxParameters: { initProcessEnabled: true, capabilities: { drop: ['ALL'] } },
    logConfiguration: {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': args.logGroup,
        'awslogs-region': args.region,
        'awslogs-stream-prefix': COLLECTOR_CONTAINER,
      },
    },
  };
}
