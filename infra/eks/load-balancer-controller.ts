import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { PLATFORM_CHARTS } from '../config/eks.js';
import { type PodDemand, podResources } from './capacity.js';
import { installPlatformRelease, type PlatformTarget } from './platform-release.js';

/**
 * The AWS Load Balancer Controller, which provisions the ingress NLB from a Service of
 * `loadBalancerClass: service.k8s.aws/nlb` ("Network Load Balancer", LBC docs): it applies the
 * listener attributes the in-tree controller ignores (the TCP idle timeout), registers pod IPs as
 * targets, and pushes annotation changes to an existing NLB. EKS Auto Mode runs its own copy; this
 * one is for managed node groups.
 */

const NAMESPACE = 'kube-system';
const SERVICE_ACCOUNT = 'aws-load-balancer-controller';
/** The Service class this controller answers to (its `--load-balancer-class` default). */
export const LBC_LOAD_BALANCER_CLASS = 'service.k8s.aws/nlb';
/** The controller's pods, counted in the capacity check. */
export const LOAD_BALANCER_CONTROLLER_PODS: PodDemand = {
  name: 'aws-load-balancer-controller',
  replicas: 2,
  cpuMilli: 100,
  memoryMiB: 256,
};

/** The tag the controller puts on everything it creates, and the condition of every write below. */
const OWNED = 'elbv2.k8s.aws/cluster';

/**
 * What the controller calls for NLBs of Services, scoped like the controller's published policy
 * (docs/install/iam_policy.json, v3.4.3): reads anywhere; security groups, load balancers and target
 * groups created and changed only with its cluster tag. Left out: what only ALBs of Ingresses use
 * (WAF, Shield, Cognito, certificates, listener rules), which this program never asks it for.
 */
export function loadBalancerControllerPolicy(): string {
  const tagged = { Null: { [`aws:ResourceTag/${OWNED}`]: 'false' } };
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'LinkedRoleForElb',
        Effect: 'Allow',
        Action: 'iam:CreateServiceLinkedRole',
        Resource: '*',
        Condition: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
      },
      {
        Sid: 'Read',
        Effect: 'Allow',
        Action: [
          'ec2:DescribeAccountAttributes',
          'ec2:DescribeAddresses',
          'ec2:DescribeAvailabilityZones',
          'ec2:DescribeInternetGateways',
          'ec2:DescribeVpcs',
          'ec2:DescribeSubnets',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeInstances',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeTags',
          'ec2:DescribeRouteTables',
          'ec2:GetSecurityGroupsForVpc',
          'elasticloadbalancing:DescribeLoadBalancers',
          'elasticloadbalancing:DescribeLoadBalancerAttributes',
          'elasticloadbalancing:DescribeListeners',
          'elasticloadbalancing:DescribeListenerAttributes',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeTargetGroupAttributes',
          'elasticloadbalancing:DescribeTargetHealth',
          'elasticloadbalancing:DescribeTags',
          'elasticloadbalancing:DescribeCapacityReservation',
        ],
        Resource: '*',
      },
      {
        Sid: 'OwnSecurityGroups',
        Effect: 'Allow',
        Action: [
          'ec2:CreateSecurityGroup',
          'ec2:AuthorizeSecurityGroupIngress',
          'ec2:RevokeSecurityGroupIngress',
        ],
        Resource: '*',
      },
      {
        Sid: 'TagSecurityGroupsItCreates',
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: 'arn:aws:ec2:*:*:security-group/*',
        Condition: {
          StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' },
          Null: { [`aws:RequestTag/${OWNED}`]: 'false' },
        },
      },
      {
        Sid: 'ChangeOwnSecurityGroups',
        Effect: 'Allow',
        Action: ['ec2:CreateTags', 'ec2:DeleteTags', 'ec2:DeleteSecurityGroup'],
        Resource: 'arn:aws:ec2:*:*:security-group/*',
        Condition: tagged,
      },
      {
        Sid: 'CreateTaggedLoadBalancers',
        Effect: 'Allow',
        Action: [
          'elasticloadbalancing:CreateLoadBalancer',
          'elasticloadbalancing:CreateTargetGroup',
          'elasticloadbalancing:AddTags',
        ],
        Resource: '*',
        Condition: { Null: { [`aws:RequestTag/${OWNED}`]: 'false' } },
      },
      {
        Sid: 'ChangeOwnLoadBalancers',
        Effect: 'Allow',
        Action: [
          'elasticloadbalancing:ModifyLoadBalancerAttributes',
          'elasticloadbalancing:SetIpAddressType',
          'elasticloadbalancing:SetSecurityGroups',
          'elasticloadbalancing:SetSubnets',
          'elasticloadbalancing:DeleteLoadBalancer',
          'elasticloadbalancing:ModifyTargetGroup',
          'elasticloadbalancing:ModifyTargetGroupAttributes',
          'elasticloadbalancing:DeleteTargetGroup',
          'elasticloadbalancing:ModifyListenerAttributes',
          'elasticloadbalancing:ModifyCapacityReservation',
          'elasticloadbalancing:AddTags',
          'elasticloadbalancing:RemoveTags',
        ],
        Resource: '*',
        Condition: tagged,
      },
      {
        Sid: 'Listeners',
        Effect: 'Allow',
        Action: [
          'elasticloadbalancing:CreateListener',
          'elasticloadbalancing:DeleteListener',
          'elasticloadbalancing:ModifyListener',
        ],
        Resource: '*',
      },
      {
        Sid: 'TagListeners',
        Effect: 'Allow',
        Action: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
        Resource: 'arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*',
      },
      {
        Sid: 'Targets',
        Effect: 'Allow',
        Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
        Resource: 'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*',
      },
    ],
  });
}

export interface LoadBalancerControllerArgs extends PlatformTarget {
  vpcId: pulumi.Input<string>;
}

export function installLoadBalancerController(
  parent: pulumi.Resource,
  name: string,
  args: LoadBalancerControllerArgs,
): k8s.helm.v3.Release {
  return installPlatformRelease(parent, name, {
    component: 'lb-controller',
    releaseName: 'aws-load-balancer-controller',
    chart: PLATFORM_CHARTS.loadBalancerController,
    namespace: NAMESPACE,
    serviceAccount: SERVICE_ACCOUNT,
    inlinePolicy: loadBalancerControllerPolicy(),
    clusterName: args.clusterName,
    provider: args.provider,
    dependsOn: args.dependsOn,
    tags: args.tags,
    values: {
      clusterName: args.clusterName,
      // Given, not looked up from the instance metadata the pods cannot reach (hop limit 1).
      region: args.region,
      vpcId: args.vpcId,
      replicaCount: LOAD_BALANCER_CONTROLLER_PODS.replicas,
      serviceAccount: { create: true, name: SERVICE_ACCOUNT },
      // It handles the Services that ask for it by class, and no others; no ALB Ingress class.
      enableServiceMutatorWebhook: false,
      createIngressClassResource: false,
      enableShield: false,
      enableWaf: false,
      enableWafv2: false,
      resources: podResources(LOAD_BALANCER_CONTROLLER_PODS),
    },
  });
}
