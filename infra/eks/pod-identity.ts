import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import { nameFor } from '../shared/names.js';

/**
 * EKS Pod Identity for one service account: an IAM role that `pods.eks.amazonaws.com` may assume
 * and tag ("EKS Pod Identity role", EKS user guide), its policies, and the association that hands
 * its credentials to pods of that service account. Pods fetch them from the Pod Identity agent on
 * 169.254.170.23:80 (the NetworkPolicy of a workload that uses AWS must let them out there).
 */
export interface PodIdentityArgs {
  clusterName: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
  serviceAccount: pulumi.Input<string>;
  /** Managed or customer policy ARNs, each attached by a name derived from the ARN. */
  policyArns?: string[];
  /** One inline policy document (JSON), for permissions no managed policy scopes well. */
  inlinePolicy?: pulumi.Input<string>;
  tags: Record<string, string>;
  /** The association must exist before pods start, or they run without credentials until restarted. */
  dependsOn?: pulumi.Resource[];
}

export const POD_IDENTITY_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
    },
  ],
});

export function podIdentity(
  parent: pulumi.Resource,
  name: string,
  args: PodIdentityArgs,
): aws.eks.PodIdentityAssociation {
  const role = new aws.iam.Role(
    `${name}-pod-role`,
    { assumeRolePolicy: POD_IDENTITY_TRUST, tags: args.tags },
    { parent },
  );
  const grants: pulumi.Resource[] = [];
  for (const policyArn of new Set(args.policyArns ?? [])) {
    grants.push(
      new aws.iam.RolePolicyAttachment(
        `${name}-pod-role-${nameFor(policyArn)}`,
        { role: role.name, policyArn },
        { parent },
      ),
    );
  }
  if (args.inlinePolicy) {
    grants.push(
      new aws.iam.RolePolicy(`${name}-pod-policy`, { role: role.id, policy: args.inlinePolicy }, { parent }),
    );
  }
  return new aws.eks.PodIdentityAssociation(
    `${name}-pod-identity`,
    {
      clusterName: args.clusterName,
      namespace: args.namespace,
      serviceAccount: args.serviceAccount,
      roleArn: role.arn,
      tags: args.tags,
    },
    { parent, dependsOn: [...grants, ...(args.dependsOn ?? [])] },
  );
}
