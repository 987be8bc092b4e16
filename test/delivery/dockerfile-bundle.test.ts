import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterEnv } from '../helpers/app-node.js';
import { parseDockerfile, replayDockerfile, type Stage } from '../helpers/dockerfile.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { initialize } from '../helpers/raw-streamable.js';
import { startSharedRedis } from '../helpers/shared-redis.js';

/**
 * There is no Docker engine here, so this replays app/Dockerfile stage by stage into a temp dir
 * (same COPYs, `npm ci --omit=dev`, same CMD) and boots the result. A file the image would miss or
 * a runtime dependency that is only a devDependency fails this test, as it would fail the image.
 */
describe('app/Dockerfile produces a bundle that runs', () => {
  const dockerfile = 'app/Dockerfile';
  let workDir: string;
  let runtime: Stage;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'mcp-fleet-image-'));
    const stages = replayDockerfile(dockerfile, process.cwd(), workDir, (line) => console.log(line));
    runtime = stages.at(-1)!;
  }, 300_000);

  // Two node_modules trees: deleting them takes a while on a busy disk.
  afterAll(() => rm(workDir, { recursive: true, force: true }), 300_000);

  it('is multi-stage, on a pinned Node 24 image, non-root, with exec-form node as PID 1', () => {
    const instructions = parseDockerfile(readFileSync(dockerfile, 'utf8'));
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const baseArg = instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    expect(baseArg?.args).toMatch(/^NODE_IMAGE=node:24\.\d+\.\d+-/);
    const user = instructions.filter((i) => i.keyword === 'USER').at(-1);
    expect(user?.args).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.cmd?.[0]).toBe('node');
    expect(runtime.healthcheck?.[0]).toBe('node');
  });

  it('ships production dependencies only', () => {
    const modules = join(runtime.dir, 'node_modules');
    expect(existsSync(join(modules, '@modelcontextprotocol/server'))).toBe(true);
    for (const devOnly of ['typescript', 'vitest', '@pulumi/pulumi', '@modelcontextprotocol/sdk', 'tsx']) {
      expect(existsSync(join(modules, devOnly)), `${devOnly} must not be in the image`).toBe(false);
    }
    expect(existsSync(join(runtime.dir, 'app'))).toBe(false);
  });

  /** Starts the image's CMD from `dir` as the container would, plus `env`; stops it with SIGTERM. */
  async function startImage(dir: string, extraEnv: Record<string, string>) {
    const port = await freePort();
    const [command, ...args] = runtime.cmd!;
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      ...runtime.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AUTH_MODE: 'none',
      ...extraEnv,
    };
    const child = spawn(command === 'node' ? process.execPath : command!, args, {
      cwd: dir,
      env,
      stdio: 'pipe',
    });
    const output: string[] = [];
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const until200 = (path: string) =>
      waitFor(
        `the bundle to answer 200 on ${path}`,
        async () => {
          if (child.exitCode !== null) throw new Error(`bundle exited ${child.exitCode}: ${output.join('')}`);
          const response = await fetch(`${url}${path}`);
          return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
        },
        20_000,
      );
    const stop = async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return new Promise((resolve) =>
        child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve),
      );
    };
    return { env, url, until200, stop };
  }

  it('starts with NODE_ENV=production and answers 200 on /health, also through its HEALTHCHECK', async () => {
    const image = await startImage(runtime.dir, {});
    try {
      expect(image.env.NODE_ENV).toBe('production');
      const health = await image.until200('/health');
      expect(health.status).toBe('healthy');
      const [hcCommand, ...hcArgs] = runtime.healthcheck!;
      expect(() =>
        execFileSync(hcCommand === 'node' ? process.execPath : hcCommand!, hcArgs, {
          env: image.env,
          stdio: 'pipe',
        }),
      ).not.toThrow();
      expect(await image.stop(), 'the drain exits 0').toBe(0);
    } finally {
      await image.stop();
    }
  });

  it("maps stack frames in the app's code to its TypeScript, and maps nothing else", () => {
    // Node parses the whole map for the first stack it formats: a map of every dependency blocked
    // a new node's first request for about 0.4 s (scripts/build.mjs).
    const map = JSON.parse(readFileSync(join(runtime.dir, 'dist/app/main.js.map'), 'utf8'));
    expect(map.sources.filter((source: string) => !/^(\.\.\/)+app\//.test(source))).toEqual([]);
    // Where a stack through createHttpApp points, as `--enable-source-maps` prints it.
    const bundle = readFileSync(join(runtime.dir, 'dist/app/main.js'), 'utf8').split('\n');
    const generatedLine = bundle.findIndex((line) => line.startsWith('function createHttpApp('));
    const entry = new SourceMap(map).findEntry(generatedLine, 'function '.length) as {
      originalSource?: string;
      originalLine?: number;
    };
    const sourceLine = readFileSync('app/http/app.ts', 'utf8')
      .split('\n')
      .findIndex((line) => line.startsWith('export function createHttpApp('));
    expect(generatedLine).toBeGreaterThan(0);
    expect(entry.originalSource).toMatch(/\/app\/http\/app\.ts$/);
    expect(entry.originalLine).toBe(sourceLine);
  });

  it('runs by itself: no node_modules beside it, on Redis, with the Lua scripts it carries', async () => {
    // The image keeps node_modules for scanners only; the bundle must not need them.
    const alone = mkdtempSync(join(tmpdir(), 'mcp-fleet-bundle-alone-'));
    cpSync(join(runtime.dir, 'dist'), join(alone, 'dist'), { recursive: true });
    cpSync(join(runtime.dir, 'package.json'), join(alone, 'package.json'));
    const redis = await startSharedRedis();
    const image = await startImage(alone, clusterEnv(redis));
    try {
      await image.until200('/ready');
      expect(await image.until200('/health')).toMatchObject({ mode: 'cluster' });
      // Opening a session runs the store's Lua scripts on Redis.
      const sessionId = await initialize(image.url);
      expect(await redis.client().exists(`test:session:{${sessionId}}`)).toBe(1);
      expect(await image.stop(), 'the drain exits 0').toBe(0);
    } finally {
      await image.stop();
      await redis.close();
      await rm(alone, { recursive: true, force: true });
    }
  });
});
