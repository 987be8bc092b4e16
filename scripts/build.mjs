// Builds the app as its image runs it: one ES module bundle, <out>/app/main.js, with a source map
// (file and line of the TypeScript; no sources inside, which would triple the map) and the Lua
// scripts beside it, in <out>/app/lua. Usage: node scripts/build.mjs [--out dist]
//
// Why a bundle: loading ~300 modules one by one (resolution, a file read and a compile each) was most
// of a cold start. On this project's 2-core machine the tsc output reached /ready in about 1.2 s, the
// bundle in about 0.85 s (bench (f)); a new task or pod takes traffic that much sooner.
// Type checking is tsc's job (`npm run typecheck`, and `npm run build` runs it first); esbuild only strips types.
//
// The source map covers the app's own code only. With `--enable-source-maps`, Node parses the whole
// map the first time any stack trace is formatted, and its own web streams format one inside the first
// request that ends a response body: with every dependency mapped (847 sources, 2.7 MB) that parse
// blocked the event loop about 0.4 s in a new node's first request. Mapped to the app alone (87
// sources, 0.3 MB) it takes about 60 ms, and app/main.ts pays it at start. Frames inside
// dependencies keep their function names and show bundle lines, which is what a stack from an
// installed package shows anyway.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decode, encode } from '@jridgewell/sourcemap-codec';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist' } } });
const out = `${values.out}/app`;

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: ['app/main.ts'],
  outfile: `${out}/main.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
  // The CommonJS dependencies (Express, ioredis, pino…) still call require() and may read __dirname,
  // which an ES module does not have: give the bundle both, bound to its own file.
  banner: {
    js: [
      "import { createRequire as __bundleCreateRequire } from 'node:module';",
      "import { dirname as __bundleDirname } from 'node:path';",
      "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
      'const require = __bundleCreateRequire(import.meta.url);',
      'const __filename = __bundleFileURLToPath(import.meta.url);',
      'const __dirname = __bundleDirname(__filename);',
    ].join('\n'),
  },
});
keepOwnSourcesOnly(`${out}/main.js.map`);

// app/store/redis-store.ts reads `./lua/<file>` next to its own module: app/store/lua from source,
// <out>/app/lua from the bundle.
cpSync('app/store/lua', `${out}/lua`, { recursive: true });

/** Drops every mapping into node_modules from a source map, and those sources from its list. */
function keepOwnSourcesOnly(file) {
  const map = JSON.parse(readFileSync(file, 'utf8'));
  const renumbered = map.sources.map(() => -1);
  const sources = [];
  map.sources.forEach((source, index) => {
    if (source.includes('node_modules/')) return;
    renumbered[index] = sources.length;
    sources.push(source);
  });
  // A segment is [column] or [column, source, line, column(, name)]; only mapped ones name a source.
  const mappings = decode(map.mappings).map((line) =>
    line
      .filter((segment) => segment.length > 1 && renumbered[segment[1]] >= 0)
      .map((segment) => {
        const kept = [...segment];
        kept[1] = renumbered[segment[1]];
        return kept;
      }),
  );
  writeFileSync(file, JSON.stringify({ ...map, sources, mappings: encode(mappings) }));
}
