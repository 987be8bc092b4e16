import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDockerfile, replayDockerfile, type Stage } from '../helpers/dockerfile.js';
import { freePort, waitFor } from '../helpers/ports.js';

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

  it('starts with NODE_ENV=production and answers 200 on /health, also through its HEALTHCHECK', async () => {
    const port = await freePort();
    const [command, ...args] = runtime.cmd!;
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      ...runtime.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AUTH_MODE: 'none',
    };
    expect(env.NODE_ENV).toBe('production');
    const child = spawn(command === 'node' ? process.execPath : command!, args, {
      cwd: runtime.dir,
      env,
      stdio: 'pipe',
    });
    const output: string[] = [];
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    try {
      const health = await waitFor(
        'the bundle to serve /health',
        async () => {
          if (child.exitCode !== null) throw new Error(`bundle exited ${child.exitCode}: ${output.join('')}`);
          const response = await fetch(`http://127.0.0.1:${port}/health`);
          return response.status === 200 ? ((await response.json()) as { status: string }) : undefined;
        },
        20_000,
      );
      expect(health.status).toBe('healthy');
      const [hcCommand, ...hcArgs] = runtime.healthcheck!;
      expect(() =>
        execFileSync(hcCommand === 'node' ? process.execPath : hcCommand!, hcArgs, { env, stdio: 'pipe' }),
      ).not.toThrow();
    } finally {
      child.kill('SIGTERM');
    }
    const exitCode = await new Promise((resolve) =>
      child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve),
    );
    expect(exitCode).toBe(0);
  });
});
