import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.js';
import { gitRevision, imageTags } from '../../infra/foundation/registry.js';
import { type SecretEnv, secretsRevision } from '../../infra/foundation/secrets.js';
import { prefixRewrite, rulePriority } from '../../infra/shared/routing.js';
import { promiseOf } from './harness.js';

/** What must never move when the stack config changes elsewhere: priorities, names, tags, triggers. */

const server = (ingress: { host?: string; path?: string; priority?: number }) =>
  parseConfig({
    platform: 'ecs',
    servers: { s: { image: 'ghcr.io/example/mcp:1', stateless: true, ingress } },
  }).servers.s as Parameters<typeof rulePriority>[0];

describe('listener-rule priorities', () => {
  it('depend on the server own host and path only, so adding or reordering servers moves none', () => {
    const before = rulePriority(server({ host: 'a.example.com', path: '/' }));
    // Same host/path, computed again (in any run, whatever else is configured): the same number.
    expect(rulePriority(server({ host: 'a.example.com', path: '/' }))).toBe(before);
    expect(rulePriority(server({ host: 'b.example.com', path: '/' }))).not.toBe(before);
  });

  it('put host-specific rules before host-less ones, and deeper paths before shallower ones', () => {
    const hostDeep = rulePriority(server({ host: 'a.example.com', path: '/team/tools' }));
    const hostRoot = rulePriority(server({ host: 'a.example.com', path: '/' }));
    const anyDeep = rulePriority(server({ path: '/team/tools' }));
    const anyShallow = rulePriority(server({ path: '/team' }));
    const anyRoot = rulePriority(server({ path: '/' }));
    expect([hostDeep, hostRoot, anyDeep, anyShallow, anyRoot]).toEqual(
      [hostDeep, hostRoot, anyDeep, anyShallow, anyRoot].sort((a, b) => a - b),
    );
    for (const priority of [hostDeep, hostRoot, anyDeep, anyShallow, anyRoot]) {
      expect(priority).toBeGreaterThanOrEqual(100);
      expect(priority).toBeLessThanOrEqual(50_000);
    }
  });

  it('take ingress.priority when it is set', () => {
    expect(rulePriority(server({ path: '/', priority: 777 }))).toBe(777);
  });
});

describe('path prefixes', () => {
  it('are stripped to what the server routes', () => {
    const rewrite = prefixRewrite('/team-a');
    if (!rewrite) throw new Error('expected a rewrite for /team-a');
    const apply = (path: string) => path.replace(new RegExp(rewrite.regex), rewrite.replace);
    expect(apply('/team-a/mcp')).toBe('/mcp');
    expect(apply('/team-a/.well-known/oauth-protected-resource')).toBe(
      '/.well-known/oauth-protected-resource',
    );
    expect(apply('/team-a')).toBe('/');
    expect(prefixRewrite('/')).toBeUndefined();
  });
});

describe('image tags', () => {
  it('tag every build of a clean commit with that commit as well as the stack, commit first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-git-'));
    try {
      expect(gitRevision(dir)).toBeUndefined();
      const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
      git('init', '-q');
      writeFileSync(join(dir, 'file'), 'one');
      git('add', 'file');
      git('-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-qm', 'one');
      const head = git('rev-parse', 'HEAD');
      expect(gitRevision(dir)).toBe(head.slice(0, 12));
      expect(imageTags('staging', gitRevision(dir))).toEqual([`git-${head.slice(0, 12)}`, 'staging']);
      // Uncommitted changes: the image is no commit's, so only the stack tag.
      writeFileSync(join(dir, 'file'), 'two');
      expect(gitRevision(dir)).toBeUndefined();
      expect(imageTags('staging', gitRevision(dir))).toEqual(['staging']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the secrets revision that rolls tasks and pods', () => {
  const secret = (name: string, versionId: string) =>
    ({ name, jsonKey: name, version: { versionId: pulumi.output(versionId) } }) as unknown as SecretEnv;

  it('changes when any value gets a new version, and only then', async () => {
    const revision = (ids: [string, string]) =>
      promiseOf(secretsRevision([secret('AUTH_API_KEYS', ids[0]), secret('REDIS_URL', ids[1])]));
    const before = await revision(['v1', 'r1']);
    expect(before).toMatch(/^[0-9a-f]{32}$/);
    expect(await revision(['v1', 'r1'])).toBe(before);
    expect(await revision(['v2', 'r1'])).not.toBe(before);
    expect(await revision(['v1', 'r2'])).not.toBe(before);
  });
});
