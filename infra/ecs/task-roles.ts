import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SecretEnv } from '../foundation/secrets.js';
import { nameFor } from '../shared/names.js';
import type { PolicyStatement } from './metrics-collector.js';

export interface TaskRolesArgs {
  /** The secrets the execution role must read to start the task. */
  secrets: SecretEnv[];
  /** IAM policies the server itself calls AWS with (the stack's `awsPolicyArns`). */
  awsPolicyArns: string[];
  /** What the task's metrics collector needs to ship its samples, when the task runs one. */
  metricsStatement?: pulumi.Output<PolicyStatement>;
  tags: Record<string, string>;
}

const ASSUME_ROLE_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});

/**
 * The execution role (ECS pulls the image, reads the secrets, writes the logs) and the task role
 * (what the containers themselves may call), each with exactly what this server needs.
 */
export function taskRoles(parent: pulumi.Resource, name: string, args: TaskRolesArgs) {
  const execution = new aws.iam.Role(
    `${name}-execution`,
    { assumeRolePolicy: ASSUME_ROLE_POLICY, tags: args.tags },
    { parent },
  );
  new aws.iam.RolePolicyAttachment(
    `${name}-execution`,
    {
      role: execution.name,
      policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy',
    },
    { parent },
  );
  const secretArns = [...new Set(args.secrets.map((secret) => secret.secretArn))];
  if (secretArns.length > 0) {
    // The execution role reads exactly this server's secrets, nothing else in the account.
    new aws.iam.RolePolicy(
      `${name}-read-secrets`,
      {
        role: execution.id,
        policy: pulumi.all(secretArns).apply((arns) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: [...new Set(arns)].sort(),
              },
            ],
          }),
        ),
      },
      { parent },
    );
  }
  const task = new aws.iam.Role(
    `${name}-task`,
    { assumeRolePolicy: ASSUME_ROLE_POLICY, tags: args.tags },
    { parent },
  );
  for (const policyArn of new Set(args.awsPolicyArns)) {
    new aws.iam.RolePolicyAttachment(
      `${name}-task-${nameFor(policyArn)}`,
      { role: task.name, policyArn },
      { parent },
    );
  }
  if (args.metricsStatement) {
    new aws.iam.RolePolicy(
      `${name}-ship-metrics`,
      {
        role: task.id,
        policy: args.metricsStatement.apply((statement) =>
          JSON.stringify({ Version: '2012-10-17', Statement: [statement] }),
        ),
      },
      { parent },
    );
  }
  return { execution, task };
}
