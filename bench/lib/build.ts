import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ServerRuntime, serverRuntime } from './runtime.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Inside the repo (git-ignored), so the built code resolves node_modules as dist/ does. */
const OUT = 'bench/.runs/build';

/** The Node executable and arguments that start each server the way its container would. */
export interface Entries {
  /** The Node executable the servers run on (bench/lib/runtime.ts). */
  node: string;
  app: string[];
  baseline: string[];
  /** How the entries were made, for the results. */
  description: string;
}

/** The servers run from source through tsx: the test helpers' way, slower to start and heavier. */
export const SOURCE_ENTRIES: Entries = {
  node: process.execPath,
  app: ['--import', 'tsx', 'app/main.ts'],
  baseline: ['--import', 'tsx', 'bench/baseline/server.ts'],
  description: 'from source through tsx (`--source`)',
};

/**
 * Builds the app as `npm run build` does (one bundle, scripts/build.mjs) and compiles the baseline
 * with tsc, into a private folder, so that every server runs as production runs it (`node
 * --enable-source-maps dist/app/main.js`), without tsx's loader thread, which costs memory and CPU
 * that no deployment pays. They run on the image's Node version (bench/lib/runtime.ts).
 */
export function buildForBench(
  runtime: ServerRuntime = serverRuntime((line) => process.stderr.write(`${line}\n`)),
): Entries {
  rmSync(`${ROOT}/${OUT}`, { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'bench/tsconfig.build.json'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  // The bundle has a folder of its own: the baseline's compiled code imports the app's echo tool.
  const bundle = spawnSync(process.execPath, ['scripts/build.mjs', '--out', `${OUT}/bundle`], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const app = `${OUT}/bundle/app/main.js`;
  const baseline = `${OUT}/bench/baseline/server.js`;
  // tsc still emits when a file elsewhere in a tree under edit has a type error; what matters is the output.
  if (!existsSync(`${ROOT}/${app}`) || !existsSync(`${ROOT}/${baseline}`)) {
    throw new Error(
      `the build produced no ${app} or ${baseline}:\n${tsc.stdout}${tsc.stderr}${bundle.stdout}${bundle.stderr}`,
    );
  }
  return {
    node: runtime.node,
    app: ['--enable-source-maps', app],
    baseline: ['--enable-source-maps', baseline],
    description: `the app bundled as \`npm run build\` does, the baseline built with tsc, both started as the Dockerfile does (\`node --enable-source-maps dist/app/main.js\`) on Node ${runtime.version}${runtime.note ? ` (${runtime.note})` : ", the image's version"}`,
  };
}
