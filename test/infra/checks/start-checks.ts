import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  containerArgv,
  type ImageConfig,
  imageConfigFromDockerfile,
  knownBaseImage,
  nodeMainModule,
  type StartOverrides,
  scriptArguments,
  startedProcess,
} from '../outcome/container-start.js';
import { T } from '../outcome/graph.js';
import { containersOf } from '../outcome/ordering.js';
import type { Captured, StackRuns } from './runs.js';

/** Does every container start the program its image ships, with the arguments the stack intends? */

export interface StartedContainer {
  server: string;
  image: ImageConfig;
  overrides: StartOverrides;
  /** The argv of the process that runs. */
  process: string[];
}

/** The app's image config, from app/Dockerfile and the node base image it builds on. */
export function appImageConfig(): ImageConfig {
  return imageConfigFromDockerfile(readFileSync('app/Dockerfile', 'utf8'), knownBaseImage);
}

function imageConfigOf(captured: Captured, server: string): ImageConfig {
  const config = captured.config.servers[server];
  if (config?.build === 'app') return appImageConfig();
  if (!config?.imageConfig)
    throw new Error(
      `servers.${server}: declare imageConfig (the image's ENTRYPOINT and CMD) so its start can be checked`,
    );
  return config.imageConfig;
}

/** Every container the program starts, with the platform's overrides applied (ECS `entryPoint`/`command`, K8s `command`/`args`). */
export function startedContainers(captured: Captured): StartedContainer[] {
  const found: { server: string; overrides: StartOverrides }[] = [];
  for (const definition of captured.graph.ofType(T.taskDefinition)) {
    for (const container of containersOf(definition)) {
      found.push({
        server: container.name,
        overrides: { entrypoint: container.entryPoint, cmd: container.command },
      });
    }
  }
  for (const deployment of captured.graph.ofType(T.deployment)) {
    for (const container of deployment.inputs.spec.template.spec.containers) {
      found.push({
        server: container.name,
        overrides: { entrypoint: container.command, cmd: container.args },
      });
    }
  }
  return found
    .filter(({ server }) => captured.config.servers[server] !== undefined)
    .map(({ server, overrides }) => {
      const image = imageConfigOf(captured, server);
      return { server, image, overrides, process: startedProcess(containerArgv(image, overrides)) };
    });
}

/** `node <main module>`, or the executable for anything else. */
function program(argv: string[]): string {
  const main = nodeMainModule(argv);
  return main === undefined ? (argv[0] ?? '(nothing)') : `node ${main}`;
}

export function describeContainerStart(runs: () => StackRuns): void {
  describe('container start', () => {
    it("the app container runs node on the built entry point, as app/Dockerfile's CMD says", () => {
      const app = startedContainers(runs().base).find((container) => container.server === 'app');
      expect(app?.process).toEqual(['node', '--enable-source-maps', 'dist/app/main.js']);
    });

    it.fails("finding 2: every container runs its image's own program", () => {
      const containers = startedContainers(runs().base);
      expect(containers.map((container) => container.server).sort()).toEqual(
        Object.keys(runs().base.config.servers).sort(),
      );
      const wrong = containers
        .filter(
          (container) =>
            program(container.process) !== program(startedProcess(containerArgv(container.image, {}))),
        )
        .map(
          (container) =>
            `${container.server} runs \`${container.process.join(' ')}\`; its image runs \`${program(startedProcess(containerArgv(container.image, {})))}\``,
        );
      expect(wrong).toEqual([]);
    });

    it.fails('finding 2: the everything server starts in Streamable HTTP mode (its launcher takes the transport as first argument)', () => {
      const everything = startedContainers(runs().base).find(
        (container) => container.server === 'everything',
      );
      expect(everything?.process).toEqual(['node', 'dist/index.js', 'streamableHttp']);
      expect(scriptArguments(everything?.process ?? [])).toEqual(['streamableHttp']);
    });
  });
}
