import { parseDockerfile } from '../../helpers/dockerfile.js';

/**
 * What process a container runs, from the image's ENTRYPOINT/CMD and the platform's overrides.
 *
 * ECS `entryPoint` "maps to Entrypoint in the docker container create command" and `command` to Cmd
 * (ECS ContainerDefinition API reference); Kubernetes `command` corresponds to ENTRYPOINT and `args`
 * to CMD (https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/).
 * Both follow the rule the Docker daemon applies when it merges a container config with its image
 * (moby daemon/commit.go `merge`): with no entrypoint override, the image's ENTRYPOINT stays and
 * the override's Cmd replaces the image's CMD only when it is non-empty; an entrypoint override
 * drops the image's CMD altogether ("If you supply a command but no args for a Container, only the
 * supplied command is used. The default EntryPoint and the default Cmd defined in the Docker image
 * are ignored", the Kubernetes page above).
 */

/** The image's own ENTRYPOINT and CMD, as `docker inspect` shows them. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
}

/** ECS `entryPoint`/`command`, or Kubernetes `command`/`args`. */
export interface StartOverrides {
  entrypoint?: string[];
  cmd?: string[];
}

export function containerArgv(image: ImageConfig, overrides: StartOverrides): string[] {
  const entrypoint = overrides.entrypoint ?? [];
  const cmd = overrides.cmd ?? [];
  if (entrypoint.length > 0) return [...entrypoint, ...cmd];
  return [...image.entrypoint, ...(cmd.length > 0 ? cmd : image.cmd)];
}

/**
 * The official node images' ENTRYPOINT (nodejs/docker-node, e.g. 22/alpine3.22/Dockerfile):
 * `ENTRYPOINT ["docker-entrypoint.sh"]`, `CMD ["node"]`.
 */
export const NODE_BASE_IMAGE: ImageConfig = { entrypoint: ['docker-entrypoint.sh'], cmd: ['node'] };

/**
 * Commands `command -v` finds on a node image's PATH, among those a container's first argument can
 * plausibly be. A word not listed (a script path such as `dist/index.js`, a mode such as
 * `streamableHttp`) is not a system command.
 */
export const NODE_IMAGE_COMMANDS = new Set([
  'node',
  'nodejs',
  'npm',
  'npx',
  'corepack',
  'yarn',
  'yarnpkg',
  'sh',
  'env',
  'tini',
]);

/**
 * docker-entrypoint.sh of the node images: "Run command with node if the first argument contains a
 * "-" or is not a system command", then `exec "$@"`:
 * `if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then set -- node "$@"; fi`
 */
function nodeEntrypoint(args: string[], commands: ReadonlySet<string>): string[] {
  const first = args[0];
  if (first === undefined) return args;
  return first.startsWith('-') || !commands.has(first) ? ['node', ...args] : args;
}

/** The argv of the process that ends up running (after the image's entrypoint script, if it is node's). */
export function startedProcess(
  argv: string[],
  commands: ReadonlySet<string> = NODE_IMAGE_COMMANDS,
): string[] {
  const [program, ...rest] = argv;
  if (program === 'docker-entrypoint.sh' || program === '/usr/local/bin/docker-entrypoint.sh') {
    return nodeEntrypoint(rest, commands);
  }
  return argv;
}

/** For `node [options] <script> [args]`: the script (Node's main module), else undefined. */
export function nodeMainModule(argv: string[]): string | undefined {
  if (argv[0] !== 'node') return undefined;
  return argv.slice(1).find((arg) => !arg.startsWith('-'));
}

/** The arguments after the main module: what the script sees as `process.argv.slice(2)`. */
export function scriptArguments(argv: string[]): string[] {
  const main = nodeMainModule(argv);
  return main === undefined ? [] : argv.slice(argv.indexOf(main) + 1);
}

function execForm(text: string): string[] {
  const trimmed = text.trim();
  // Shell form runs under `/bin/sh -c` (https://docs.docker.com/reference/dockerfile/#shell-and-exec-form).
  return trimmed.startsWith('[') ? (JSON.parse(trimmed) as string[]) : ['/bin/sh', '-c', trimmed];
}

/**
 * The final stage's ENTRYPOINT and CMD, from a Dockerfile and the config of its base images.
 * A stage inherits both from its base; "If CMD is defined from the base image, setting ENTRYPOINT
 * will reset CMD to an empty value" (https://docs.docker.com/reference/dockerfile/#understand-how-cmd-and-entrypoint-interact).
 */
export function imageConfigFromDockerfile(
  text: string,
  baseImage: (reference: string) => ImageConfig | undefined,
): ImageConfig {
  const args: Record<string, string> = {};
  const stages = new Map<string, ImageConfig>();
  let current: (ImageConfig & { ownCmd: boolean }) | undefined;
  let currentName: string | undefined;
  const expand = (value: string) =>
    value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string, bare: string) => args[braced ?? bare] ?? '');
  for (const { keyword, args: rest } of parseDockerfile(text)) {
    if (keyword === 'ARG') {
      const at = rest.indexOf('=');
      if (at > 0 && args[rest.slice(0, at)] === undefined) args[rest.slice(0, at)] = rest.slice(at + 1);
    } else if (keyword === 'FROM') {
      if (current && currentName) stages.set(currentName, current);
      const [reference = '', , alias] = expand(rest).split(/\s+/);
      const base = stages.get(reference) ?? baseImage(reference);
      if (!base) throw new Error(`FROM ${reference}: no image config known for this base image`);
      current = { entrypoint: [...base.entrypoint], cmd: [...base.cmd], ownCmd: false };
      currentName = alias;
    } else if (keyword === 'ENTRYPOINT' && current) {
      current.entrypoint = execForm(rest);
      if (!current.ownCmd) current.cmd = [];
    } else if (keyword === 'CMD' && current) {
      current.cmd = execForm(rest);
      current.ownCmd = true;
    }
  }
  if (!current) throw new Error('no FROM in the Dockerfile');
  return { entrypoint: current.entrypoint, cmd: current.cmd };
}

/** Official `node:*` images; other bases must be declared. */
export function knownBaseImage(reference: string): ImageConfig | undefined {
  return /^(docker\.io\/)?(library\/)?node(:|@|$)/.test(reference) ? NODE_BASE_IMAGE : undefined;
}
