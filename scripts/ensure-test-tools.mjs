// `npm test` on a fresh clone: the end-to-end tests drive Node-22 tools (the MCP conformance suite,
// the Inspector, server-everything) that live in their own package, test/tools. Install it once,
// from its lockfile, when it is missing or older than the lockfile; otherwise do nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const tools = fileURLToPath(new URL('../test/tools/', import.meta.url));
const lockfile = `${tools}package-lock.json`;
const installed = `${tools}node_modules/.package-lock.json`;

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lockfile).mtimeMs) {
  console.log('test tools: installing test/tools (npm ci --prefix test/tools), once');
  execFileSync('npm', ['ci', '--prefix', tools, '--no-audit', '--no-fund'], { stdio: 'inherit' });
}
