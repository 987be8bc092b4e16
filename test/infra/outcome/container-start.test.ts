import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  containerArgv,
  imageConfigFromDockerfile,
  knownBaseImage,
  NODE_BASE_IMAGE,
  nodeMainModule,
  startedProcess,
} from './container-start.js';

const everything = { entrypoint: [], cmd: ['node', 'dist/index.js'] };
/** mcp/everything runs on node:22-alpine: node's ENTRYPOINT, its own CMD. */
const everythingInspect = { entrypoint: NODE_BASE_IMAGE.entrypoint, cmd: everything.cmd };

describe('container argv (Docker, ECS and Kubernetes rules)', () => {
  it('runs the image ENTRYPOINT and CMD when nothing overrides them', () => {
    expect(containerArgv(everythingInspect, {})).toEqual(['docker-entrypoint.sh', 'node', 'dist/index.js']);
  });

  it('replaces only CMD with ECS command / K8s args, keeping the ENTRYPOINT', () => {
    expect(containerArgv(everythingInspect, { cmd: ['streamableHttp'] })).toEqual([
      'docker-entrypoint.sh',
      'streamableHttp',
    ]);
    // An empty override is no override.
    expect(containerArgv(everythingInspect, { cmd: [] })).toEqual([
      'docker-entrypoint.sh',
      'node',
      'dist/index.js',
    ]);
  });

  it('drops the image CMD when ECS entryPoint / K8s command is set', () => {
    expect(
      containerArgv(everythingInspect, { entrypoint: ['node', 'dist/index.js', 'streamableHttp'] }),
    ).toEqual(['node', 'dist/index.js', 'streamableHttp']);
    expect(containerArgv(everythingInspect, { entrypoint: ['node'], cmd: ['dist/index.js'] })).toEqual([
      'node',
      'dist/index.js',
    ]);
  });
});

describe("node's docker-entrypoint.sh", () => {
  it('prefixes node to a first argument that is not a system command, or that is an option', () => {
    expect(startedProcess(['docker-entrypoint.sh', 'streamableHttp'])).toEqual(['node', 'streamableHttp']);
    expect(startedProcess(['docker-entrypoint.sh', 'dist/index.js'])).toEqual(['node', 'dist/index.js']);
    expect(startedProcess(['docker-entrypoint.sh', '--version'])).toEqual(['node', '--version']);
  });

  it('execs a system command as it is, and leaves other entrypoints alone', () => {
    expect(startedProcess(['docker-entrypoint.sh', 'node', 'dist/index.js'])).toEqual([
      'node',
      'dist/index.js',
    ]);
    expect(startedProcess(['docker-entrypoint.sh', 'npm', 'start'])).toEqual(['npm', 'start']);
    expect(startedProcess(['/app/run', 'streamableHttp'])).toEqual(['/app/run', 'streamableHttp']);
  });

  it('finds the main module node runs', () => {
    expect(nodeMainModule(['node', '--enable-source-maps', 'dist/app/main.js'])).toBe('dist/app/main.js');
    expect(nodeMainModule(['node', 'streamableHttp'])).toBe('streamableHttp');
    expect(nodeMainModule(['python', 'x.py'])).toBeUndefined();
  });
});

describe('image config from a Dockerfile', () => {
  it("reads app/Dockerfile: node's entrypoint script, the app's exec-form CMD", () => {
    const config = imageConfigFromDockerfile(readFileSync('app/Dockerfile', 'utf8'), knownBaseImage);
    expect(config).toEqual({
      entrypoint: ['docker-entrypoint.sh'],
      cmd: ['node', '--enable-source-maps', 'dist/app/main.js'],
    });
  });

  it('resets an inherited CMD when a stage sets ENTRYPOINT, and inherits across stage aliases', () => {
    const text =
      'ARG BASE=node:22-alpine\nFROM $BASE AS base\nENTRYPOINT ["/app/run"]\nFROM base\nRUN true\n';
    expect(imageConfigFromDockerfile(text, knownBaseImage)).toEqual({ entrypoint: ['/app/run'], cmd: [] });
    const own = 'FROM node:22\nCMD ["serve"]\nENTRYPOINT ["/app/run"]\n';
    expect(imageConfigFromDockerfile(own, knownBaseImage)).toEqual({
      entrypoint: ['/app/run'],
      cmd: ['serve'],
    });
    expect(imageConfigFromDockerfile('FROM node:22\nCMD node server.js\n', knownBaseImage).cmd).toEqual([
      '/bin/sh',
      '-c',
      'node server.js',
    ]);
  });

  it('refuses a base image whose config it does not know', () => {
    expect(() => imageConfigFromDockerfile('FROM python:3.12\n', knownBaseImage)).toThrow(/python:3\.12/);
  });
});
