import { createHash } from 'node:crypto';
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
  /**
   * The SecretVersion holding the value. A task definition that names only the secret's ARN does not
   * wait for it (ECS then fails the task with ResourceInitializationError: no AWSCURRENT version), and
   * its `versionId` is what changes when the value does.
   */
  version: aws.secretsmanager.SecretVersion;
  /** What the value is made from and must exist first (the replication group for REDIS_URL). */
  sources: pulumi.Resource[];
}

/** ECS `valueFrom` syntax for one key of a JSON secret: `arn:…:secret:name:KEY::`. */
export function valueFrom(secret: SecretEnv): pulumi.Output<string> {
  return pulumi.interpolate`${secret.secretArn}:${secret.jsonKey}::`;
}

/** Everything a task or pod reading `secrets` must be created after, without duplicates. */
export function secretDependencies(secrets: SecretEnv[]): pulumi.Resource[] {
  return [...new Set(secrets.flatMap((secret) => [secret.version, ...secret.sources]))];
}

/**
 * A digest of the SecretVersion ids behind `secrets`: it changes exactly when a value changes
 * (Secrets Manager mints a new version id for every new value), and holds no secret material, so it
 * can sit in a pod-template annotation or an ECS deployment trigger.
 */
export function secretsRevision(secrets: SecretEnv[]): pulumi.Output<string> {
  const ids = secrets.map((secret) =>
    secret.version.versionId.apply((id) => `${secret.name}=${secret.jsonKey}@${id}`),
  );
  return pulumi.all(ids).apply((lines) =>
    createHash('sha256')
      .update([...lines].sort().join('\n'))
      .digest('hex')
      .slice(0, 32),
  );
}

export interface AppSecretsArgs {
  /** server name → secret name → value (from the secure `serverSecrets` stack key). */
  serverSecrets: Record<string, Record<string, pulumi.Input<string>>>;
  /** Servers whose AUTH_API_KEYS the program generates, because the stack sets none. */
  generateApiKeysFor: string[];
  /** The secure `stateKey` stack key; unset generates MCP_STATE_KEY. */
  stateKey?: pulumi.Input<string>;
  /** Deleted secrets stay recoverable for 30 days. */
  deletionProtection: boolean;
  tags: Record<string, string>;
}

/**
 * MCP_STATE_KEY (the HMAC key every node shares), and one Secrets Manager secret per server for its
 * configured secrets and its API keys. Whatever the stack does not set is generated here, so a new
 * stack needs no invented value; `pulumi config set --secret` overrides any of them.
 */
export class AppSecrets extends pulumi.ComponentResource {
  readonly stateKey: SecretEnv;
  /** server name → its configured secrets. */
  readonly serverSecrets: Record<string, SecretEnv[]>;
  /** server name → the AUTH_API_KEYS it accepts (generated or configured), marked secret. */
  readonly apiKeys: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: AppSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:foundation:AppSecrets', name, {}, opts);
    const recoveryWindowInDays = args.deletionProtection ? 30 : 0;

    // 64 alphanumerics ≈ 380 bits; createRequestStateCodec needs at least 32 bytes.
    const stateKey =
      args.stateKey ??
      new random.RandomPassword(`${name}-state-key`, { length: 64, special: false }, { parent: this }).result;
    this.stateKey = storeJson(
      this,
      `${name}-state-key`,
      { MCP_STATE_KEY: stateKey },
      recoveryWindowInDays,
      args.tags,
    )[0] as SecretEnv;

    const values: Record<string, Record<string, pulumi.Input<string>>> = Object.fromEntries(
      Object.entries(args.serverSecrets).map(([server, secrets]) => [server, { ...secrets }]),
    );
    for (const server of args.generateApiKeysFor) {
      // 48 alphanumerics (≈ 285 bits): the app's key format is 16+ visible characters without commas.
      const key = new random.RandomPassword(
        `${name}-${server}-api-key`,
        { length: 48, special: false },
        { parent: this },
      );
      values[server] = { ...values[server], AUTH_API_KEYS: key.result };
    }
    this.serverSecrets = {};
    this.apiKeys = {};
    for (const [server, serverValues] of Object.entries(values)) {
      if (Object.keys(serverValues).length === 0) continue;
      this.serverSecrets[server] = storeJson(
        this,
        `${name}-${server}`,
        serverValues,
        recoveryWindowInDays,
        args.tags,
      );
      const keys = serverValues.AUTH_API_KEYS;
      if (keys !== undefined) this.apiKeys[server] = pulumi.secret(pulumi.output(keys));
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
  const version = new aws.secretsmanager.SecretVersion(
    name,
    { secretId: secret.id, secretString: json },
    { parent },
  );
  return Object.entries(values).map(([key, value]) => ({
    name: key,
    secretArn: secret.arn,
    jsonKey: key,
    value: pulumi.secret(pulumi.output(value)),
    version,
    sources: [],
  }));
}
