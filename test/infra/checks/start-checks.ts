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

/**
 * The process each third-party image must run to serve MCP over HTTP, from the layout of the image the
 * stack files pin (written out here, independently of the program, so a wrong `command` shows).
 * The pinned mcp/everything build ships its Streamable HTTP server as `dist/streamableHttp.js` next to
 * the stdio server its CMD runs (`dist/index.js`), and it listens on PORT. Newer builds instead take the
 * transport as an argument (`node dist/index.js streamableHttp`). The digest and this layout come from
 * other public projects' pins and were not pulled here (see the stack files' comment).
 */
export const HTTP_PROCESS: Record<string, string[]> = {
  everything: ['node', 'dist/streamableHttp.js'],
};

/**
 * Where that process answers MCP: the Streamable HTTP server of mcp/everything routes POST, GET and
 * DELETE on `/mcp` (its streamableHttp transport), the same path in both layouts.
 */
export const HTTP_ENDPOINT: Record<string, string> = {
  everything: '/mcp',
};

/** What a container must run: the app's CMD from app/Dockerfile, a third-party image's HTTP server. */
function expectedProcess(captured: Captured, server: string): string[] | undefined {
  if (captured.config.servers[server]?.build === 'app') {
    return startedProcess(containerArgv(appImageConfig(), {}));
  }
  return HTTP_PROCESS[server];
}

export function describeContainerStart(runs: () => StackRuns): void {
  describe('container start', () => {
    it("the app container runs node on the built entry point, as app/Dockerfile's CMD says", () => {
      const app = startedContainers(runs().base).find((container) => container.server === 'app');
      expect(app?.process).toEqual(['node', '--enable-source-maps', 'dist/app/main.js']);
    });

    it('finding 2: every container starts the HTTP server its image ships, never a bare word as a script', () => {
      const containers = startedContainers(runs().base);
      expect(containers.map((container) => container.server).sort()).toEqual(
        Object.keys(runs().base.config.servers).sort(),
      );
      const wrong = containers.flatMap((container) => {
        const want = expectedProcess(runs().base, container.server);
        if (!want)
          return [`${container.server}: no known HTTP process for its image; add it to HTTP_PROCESS`];
        return container.process.join(' ') === want.join(' ')
          ? []
          : [
              `${container.server} runs \`${container.process.join(' ')}\`; its image serves HTTP with \`${want.join(' ')}\``,
            ];
      });
      expect(wrong).toEqual([]);
    });

    it("finding 2: the everything server starts its Streamable HTTP server (not the image's stdio CMD) on its port", () => {
      const everything = startedContainers(runs().base).find(
        (container) => container.server === 'everything',
      );
      // The image alone would run the stdio server: a container that serves nothing on its port.
      const imageDefault = startedProcess(containerArgv(everything!.image, {}));
      expect(nodeMainModule(imageDefault)).toBe('dist/index.js');
      expect(everything?.process).toEqual(['node', 'dist/streamableHttp.js']);
      expect(scriptArguments(everything?.process ?? [])).toEqual([]);
      expect(runs().base.config.servers.everything?.port).toBe(3001);
    });
  });
}
