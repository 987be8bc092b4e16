import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface AutoscalingArgs {
  clusterName: pulumi.Input<string>;
  serviceName: pulumi.Input<string>;
  /** Never fewer tasks than this, even when idle. */
  min: number;
  /** Never more tasks than this, whatever the load. */
  max: number;
  /** Average CPU % the service is kept at. */
  cpuTarget: number;
  /** ALB requests per task per minute the service is kept at. */
  requestsPerTarget: number;
  /**
   * `app/<alb>/<id>/targetgroup/<tg>/<id>`: which ALB target group the request metric is read from.
   * Unset for a server behind the app's gateway: no ALB counts its requests, so it scales on CPU.
   */
  requestLabel?: pulumi.Input<string>;
}

/**
 * Target tracking on CPU and, behind the ALB, on requests per target: whichever asks for more tasks wins.
 * Scale-in is slow on purpose: each removed task ends its SSE streams, and clients must reconnect.
 */
export function addAutoscaling(parent: pulumi.Resource, name: string, args: AutoscalingArgs): void {
  const target = new aws.appautoscaling.Target(
    `${name}-scaling`,
    {
      serviceNamespace: 'ecs',
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: pulumi.interpolate`service/${args.clusterName}/${args.serviceName}`,
      minCapacity: args.min,
      maxCapacity: args.max,
    },
    { parent },
  );
  const policy = (
    suffix: string,
    metric: aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfiguration,
  ) =>
    new aws.appautoscaling.Policy(
      `${name}-${suffix}`,
      {
        policyType: 'TargetTrackingScaling',
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
        targetTrackingScalingPolicyConfiguration: metric,
      },
      { parent },
    );
  policy('cpu', {
    targetValue: args.cpuTarget,
    predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
    scaleOutCooldown: 60,
    scaleInCooldown: 300,
  });
  if (args.requestLabel === undefined) return;
  policy('requests', {
    targetValue: args.requestsPerTarget,
    predefinedMetricSpecification: {
      predefinedMetricType: 'ALBRequestCountPerTarget',
      resourceLabel: args.requestLabel,
    },
    scaleOutCooldown: 60,
    scaleInCooldown: 300,
  });
}
