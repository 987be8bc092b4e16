import { hasUrlCredentials, looksLikeSecretName } from '../../infra/shared/secret-names.js';
import { asArray, asRecord, type PolicyInput } from './resource.js';
import { describe, ECS_TASK_DEFINITION, ecsContainers, podContainers, podSpec } from './workloads.js';

/**
 * A plaintext env value lands in the task definition or the Deployment, where anyone who can
 * describe them reads it, and in the Pulumi state. Credentials travel as references instead: ECS
 * `secrets` (valueFrom Secrets Manager), Kubernetes `valueFrom.secretKeyRef`.
 */

function problem(at: string, name: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (looksLikeSecretName(name)) {
    return `${at}: environment variable ${name} holds a credential in plaintext; deliver it from a secret instead`;
  }
  if (hasUrlCredentials(value)) {
    return `${at}: environment variable ${name} is a URL with a password in plaintext; deliver it from a secret instead`;
  }
  return undefined;
}

/** Resource check: no credential is a plain `environment` value (ECS) or `value` (Kubernetes). */
export function noPlaintextSecrets(resource: PolicyInput): string[] {
  if (resource.type === ECS_TASK_DEFINITION) {
    const { containers, problem: invalid } = ecsContainers(resource);
    if (invalid) return [invalid];
    return containers.flatMap((container) =>
      asArray(container.environment).flatMap((variable) => {
        const entry = asRecord(variable);
        const found =
          entry &&
          problem(
            `${describe(resource)}: container "${container.name ?? '?'}"`,
            String(entry.name ?? ''),
            String(entry.value ?? ''),
          );
        return found ? [found] : [];
      }),
    );
  }
  const spec = podSpec(resource);
  if (!spec) return [];
  return podContainers(spec).flatMap((container) =>
    asArray(container.env).flatMap((variable) => {
      const entry = asRecord(variable);
      // `valueFrom` (a secretKeyRef or fieldRef) is what we want; only literal values can leak.
      if (!entry || typeof entry.value !== 'string') return [];
      const found = problem(
        `${describe(resource)}: container "${String(container.name ?? '?')}"`,
        String(entry.name ?? ''),
        entry.value,
      );
      return found ? [found] : [];
    }),
  );
}
