import { asNumber, asRecord, isTrue, type PolicyInput } from './resource.js';
import { describe, ECS_TASK_DEFINITION, ecsContainers, podContainers, podSpec } from './workloads.js';

/** A compromised MCP server must not be root in its container, nor able to starve its neighbours. */

/** `root`, `0`, `0:0`, `root:root`, `0:1000`…: any user part that is root. */
function isRootUser(user: string): boolean {
  const name = user.split(':')[0]?.trim();
  return name === '0' || name === 'root';
}

/** Resource check: every container runs as a non-root user. */
export function containersNonRoot(resource: PolicyInput): string[] {
  if (resource.type === ECS_TASK_DEFINITION) {
    const { containers, problem } = ecsContainers(resource);
    if (problem) return [problem];
    return containers.flatMap((container) => {
      const at = `${describe(resource)}: container "${container.name ?? '?'}"`;
      if (container.user === undefined || container.user === '') {
        return [
          `${at} sets no user, so it runs as the image's user (root unless the image says otherwise); set user to a non-root UID`,
        ];
      }
      return isRootUser(String(container.user))
        ? [`${at} runs as root (user "${container.user}"); set a non-root UID`]
        : [];
    });
  }
  const spec = podSpec(resource);
  if (!spec) return [];
  const pod = asRecord(spec.securityContext) ?? {};
  return podContainers(spec).flatMap((container) => {
    const own = asRecord(container.securityContext) ?? {};
    const at = `${describe(resource)}: container "${String(container.name ?? '?')}"`;
    // A container's securityContext overrides the pod's, field by field.
    const runAsNonRoot = 'runAsNonRoot' in own ? own.runAsNonRoot : pod.runAsNonRoot;
    const runAsUser = 'runAsUser' in own ? own.runAsUser : pod.runAsUser;
    if (asNumber(runAsUser) === 0) return [`${at} runs as root (runAsUser 0); set a non-root UID`];
    if (!isTrue(runAsNonRoot)) {
      return [`${at} may run as root: set securityContext.runAsNonRoot: true on the pod or the container`];
    }
    return [];
  });
}

/** Resource check: CPU and memory are bounded for every container. */
export function containersHaveLimits(resource: PolicyInput): string[] {
  if (resource.type === ECS_TASK_DEFINITION) {
    const { containers, problem } = ecsContainers(resource);
    if (problem) return [problem];
    const taskCpu = asNumber(resource.props.cpu);
    const taskMemory = asNumber(resource.props.memory);
    if (taskCpu !== undefined && taskMemory !== undefined) return [];
    // Without task-level sizes (EC2 launch type), each container needs a hard memory limit.
    const unbounded = containers.filter((container) => asNumber(container.memory) === undefined);
    if (unbounded.length === 0 && taskCpu !== undefined) return [];
    return [
      `${describe(resource)}: set task-level cpu and memory (Fargate requires both), or cpu and a memory limit on every container${
        unbounded.length > 0 ? `; unbounded: ${unbounded.map((c) => `"${c.name ?? '?'}"`).join(', ')}` : ''
      }`,
    ];
  }
  const spec = podSpec(resource);
  if (!spec) return [];
  return podContainers(spec).flatMap((container) => {
    const limits = asRecord(asRecord(container.resources)?.limits) ?? {};
    const missing = ['cpu', 'memory'].filter((key) => limits[key] === undefined || limits[key] === '');
    return missing.length === 0
      ? []
      : [
          `${describe(resource)}: container "${String(container.name ?? '?')}" has no resources.limits.${missing.join(' or ')}; set ${missing.length > 1 ? 'both' : 'it'} so one pod cannot starve its node`,
        ];
  });
}
