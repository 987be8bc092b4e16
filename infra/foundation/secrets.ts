import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

/**
 * One environment variable whose value lives in Secrets Manager. ECS injects it through the task
 * definition's `secrets` (`valueFrom`), EKS copies `value` into a Kubernetes Secret. Neither ever
 * puts it in plaintext `environment`.
 */
export interface SecretEnv {
  /** The variable name the container sees. */
  name: string;
  /** The Secrets Manager secret holding a JSON object. */
  secretArn: pulumi.Output<string>;
  /** The key inside that JSON object. */
  jsonKey: string;
  /** The value, marked secret, for platforms that materialise it themselves. */
  value: pulumi.Output<string>;
}

/** ECS `valueFrom` syntax for one key of a JSON secret: `arn:…:secret:name:KEY::`. */
export function valueFrom(secret: SecretEnv): pulumi.Output<string> {
  return pulumi.interpolate`${secret.secretArn}:${secret.jsonKey}::`;
}

export interface AppSecretsArgs {
  /** server name → secret name → value (from the secure `serverSecrets` stack key). */
  serverSecrets: Record<string, Record<string, pulumi.Input<string>>>;
  /** Deleted secrets stay recoverable for 30 days. */
  deletionProtection: boolean;
  tags: Record<string, string>;
}

/**
 * The generated MCP_STATE_KEY (the HMAC key every node shares) and one Secrets Manager secret per
 * server for its configured secrets.
 */
export class AppSecrets extends pulumi.ComponentResource {
  readonly stateKey: SecretEnv;
  /** server name → its configured secrets. */
  readonly serverSecrets: Record<string, SecretEnv[]>;

  constructor(name: string, args: AppSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:foundation:AppSecrets', name, {}, opts);
    const childOpts = { parent: this };
    const recoveryWindowInDays = args.deletionProtection ? 30 : 0;

    // 64 alphanumerics ≈ 380 bits; createRequestStateCodec needs at least 32 bytes.
    const key = new random.RandomPassword(`${name}-state-key`, { length: 64, special: false }, childOpts);
    this.stateKey = storeJson(
      this,
      `${name}-state-key`,
      { MCP_STATE_KEY: key.result },
      recoveryWindowInDays,
      args.tags,
    )[0] as SecretEnv;

    this.serverSecrets = {};
    for (const [server, values] of Object.entries(args.serverSecrets)) {
      if (Object.keys(values).length === 0) continue;
      this.serverSecrets[server] = storeJson(
        this,
        `${name}-${server}`,
        values,
        recoveryWindowInDays,
        args.tags,
      );
    }
    this.registerOutputs({});
  }
}

function storeJson(
  parent: pulumi.Resource,
  name: string,
  values: Record<string, pulumi.Input<string>>,
  recoveryWindowInDays: number,
  tags: Record<string, string>,
): SecretEnv[] {
  const secret = new aws.secretsmanager.Secret(name, { recoveryWindowInDays, tags }, { parent });
  const json = pulumi.secret(pulumi.output(values).apply((resolved) => JSON.stringify(resolved)));
  new aws.secretsmanager.SecretVersion(name, { secretId: secret.id, secretString: json }, { parent });
  return Object.entries(values).map(([key, value]) => ({
    name: key,
    secretArn: secret.arn,
    jsonKey: key,
    value: pulumi.secret(pulumi.output(value)),
  }));
}
