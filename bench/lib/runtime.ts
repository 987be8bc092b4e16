import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Inside the repo and git-ignored, kept between runs (`buildForBench` clears only bench/.runs/build). */
const CACHE = 'bench/.runs/node';

/** The Node executable the servers run on, and why that one. */
export interface ServerRuntime {
  node: string;
  version: string;
  /** Said in the results when the servers could not run on the image's Node. */
  note?: string;
}

/** The Node version app/Dockerfile's image runs: `ARG NODE_IMAGE=node:<version>-…`. */
export function imageNodeVersion(dockerfile = readFileSync(`${ROOT}/app/Dockerfile`, 'utf8')): string {
  const version = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)/m.exec(dockerfile)?.[1];
  if (!version)
    throw new Error('app/Dockerfile has no `ARG NODE_IMAGE=node:<x.y.z>…` to read the Node version from');
  return version;
}

/**
 * The servers (ours and the baseline) run on the Node version the image runs, not on whatever Node
 * runs the harness: Node's web streams, AbortSignal and HTTP stack changed between majors, and the
 * baseline, which is mostly those, gained more than ours did (on this machine, Node 24 served the
 * baseline's echo at about twice Node 20's calls/s). This process's Node is used when it is that
 * version; otherwise the official binary of that version from the npm registry (the
 * `node-<os>-<arch>` package the `node` package installs), cached in bench/.runs/node. When that
 * cannot be had (no registry, an unlisted platform), this process's Node, and the results say so.
 */
export function serverRuntime(log: (line: string) => void): ServerRuntime {
  const wanted = imageNodeVersion();
  if (process.version === `v${wanted}`) return { node: process.execPath, version: process.version };
  const binaryPackage = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  const binary = `${ROOT}/${CACHE}/node_modules/${binaryPackage}/bin/node${process.platform === 'win32' ? '.exe' : ''}`;
  if (versionOf(binary) !== `v${wanted}`) {
    log(`fetching Node ${wanted} (${binaryPackage}@${wanted}) from the npm registry into ${CACHE}`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const install = spawnSync(
      npm,
      [
        'install',
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--prefix',
        CACHE,
        `${binaryPackage}@${wanted}`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (install.status !== 0 || versionOf(binary) !== `v${wanted}`) {
      const note = `servers ran on this machine's Node ${process.version}, not the image's ${wanted}: ${binaryPackage}@${wanted} could not be installed (${(install.stderr || install.error?.message || '').trim().split('\n').at(-1) ?? 'no output'})`;
      log(note);
      return { node: process.execPath, version: process.version, note };
    }
  }
  return { node: binary, version: `v${wanted}` };
}

function versionOf(binary: string): string | undefined {
  if (!existsSync(binary)) return undefined;
  const run = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
}
