import type { StackInput } from '../../policy/rules/resource.js';
import type { ProgramRun, Stack } from '../infra/harness.js';

/**
 * The resources the mocked program registered, in the shape the policy pack sees after a deployment:
 * inputs as props, the stack in the URN, and the mock's ids (`<name>-id`, what references resolve to).
 * Each call returns a fresh deep copy, so a test can break it without touching the others.
 */
export function capturedResources(run: ProgramRun, stack: Stack): StackInput[] {
  return run.resources.map((resource) => ({
    type: resource.type,
    name: resource.name,
    urn: `urn:pulumi:${stack}::mcp-fleet::${resource.type}::${resource.name}`,
    id: `${resource.name}-id`,
    props: structuredClone(resource.inputs),
  }));
}

/** A captured resource whose props a test reaches into freely (they are the program's JSON inputs). */
// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON that each test narrows by reading it.
export type Captured = StackInput & { props: Record<string, any> };

/** The one captured resource of `type` named `name`; fails loudly otherwise, so a renamed resource cannot make a test vacuous. */
export function find(resources: StackInput[], type: string, name: string): Captured {
  const matches = resources.filter((resource) => resource.type === type && resource.name === name);
  if (matches.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${matches.length}`);
  return matches[0] as Captured;
}

interface EcsContainerJson {
  user?: string;
  environment: { name: string; value: string }[];
}

/** Rewrites the app's ECS container definition (a JSON string, as the provider receives it). */
export function editContainer(resources: StackInput[], edit: (container: EcsContainerJson) => void): void {
  const task = find(resources, 'aws:ecs/taskDefinition:TaskDefinition', 'app-task').props;
  const containers = JSON.parse(task.containerDefinitions as string) as EcsContainerJson[];
  edit(containers[0] as EcsContainerJson);
  task.containerDefinitions = JSON.stringify(containers);
}

/**
 * A copy of a resource stripped of the settings the checklist wants (no TLS, no user, no limits, no
 * retention…): a rule that flags it governs that resource. Used to prove a clean pass is not vacuous.
 */
export function emptied(resource: StackInput): StackInput {
  const props = resource.props;
  for (const key of [
    'transitEncryptionEnabled',
    'atRestEncryptionEnabled',
    'idleTimeout',
    'retentionInDays',
    'cpu',
    'memory',
  ]) {
    delete props[key];
  }
  if (typeof props.containerDefinitions === 'string') {
    const containers = JSON.parse(props.containerDefinitions) as Record<string, unknown>[];
    for (const container of containers) {
      delete container.user;
      container.environment = [{ name: 'API_TOKEN', value: 'x' }];
    }
    props.containerDefinitions = JSON.stringify(containers);
  }
  const pod = (props.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  if (pod) {
    pod.securityContext = {};
    pod.containers = [{ name: 'c', env: [{ name: 'API_TOKEN', value: 'x' }] }];
  }
  const metadata = props.metadata as { annotations?: Record<string, string> } | undefined;
  if (metadata?.annotations?.['mcp-fleet/sse']) metadata.annotations = { 'mcp-fleet/sse': 'true' };
  return resource;
}
