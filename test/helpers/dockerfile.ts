import { execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';

/**
 * Replays a Dockerfile's stages on this machine, without Docker: each stage gets a directory that
 * stands for its WORKDIR, COPY copies from the build context or from another stage, and RUN runs
 * the command as written. What the image would lack (a file not copied, a runtime dependency
 * that is dev-only), the replayed bundle lacks too.
 */
export interface Stage {
  name: string;
  workdir: string;
  dir: string;
  env: Record<string, string>;
  cmd?: string[];
  healthcheck?: string[];
}

export interface Instruction {
  keyword: string;
  args: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/**
 * Docker's .dockerignore rules: patterns in order, the last match wins, `!` re-includes.
 * `**` matches any number of path segments, `*` anything within one.
 */
export function dockerIgnoreFilter(context: string): (path: string) => boolean {
  const file = join(context, '.dockerignore');
  if (!existsSync(file)) return () => false;
  const rules = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const glob = (negated ? line.slice(1) : line).replace(/^\/+/, '');
      const pattern = glob
        .split('**')
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('.*');
      return { negated, regex: new RegExp(`^${pattern}$`) };
    });
  return (path) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negated;
    return ignored;
  };
}

export function replayDockerfile(
  file: string,
  context: string,
  into: string,
  log: (line: string) => void = () => undefined,
): Stage[] {
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  const isIgnored = dockerIgnoreFilter(context);
  // Only files are matched, so that a directory stays walkable for the files it re-includes.
  const sentToDocker = (src: string) => statSync(src).isDirectory() || !isIgnored(relative(context, src));
  const inStage = (s: Stage, path: string) =>
    join(s.dir, posix.relative(s.workdir, posix.resolve(s.workdir, path)));

  for (const { keyword, args: text } of parseDockerfile(readFileSync(file, 'utf8'))) {
    if (keyword === 'ARG' || keyword === 'EXPOSE' || keyword === 'USER' || keyword === 'STOPSIGNAL') {
      // Build arguments and image metadata change nothing on disk.
    } else if (keyword === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(text)?.[1] ?? `stage${stages.length}`;
      stage = { name, workdir: '/', dir: join(into, name), env: {} };
      mkdirSync(stage.dir, { recursive: true });
      stages.push(stage);
    } else if (!stage) {
      throw new Error(`${keyword} before FROM in ${file}`);
    } else if (keyword === 'WORKDIR') {
      stage.workdir = posix.resolve(stage.workdir, text);
    } else if (keyword === 'ENV') {
      for (const match of text.matchAll(/(\w+)=("[^"]*"|\S+)/g))
        stage.env[match[1]!] = match[2]!.replace(/^"|"$/g, '');
    } else if (keyword === 'COPY') {
      const parts = text.split(/\s+/).filter((p) => !p.startsWith('--') || p.startsWith('--from='));
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      const paths = parts.filter((p) => !p.startsWith('--'));
      const dest = paths.pop() ?? '.';
      const source = from ? stages.find((s) => s.name === from) : undefined;
      if (from && !source) throw new Error(`COPY --from=${from}: no such stage`);
      for (const path of paths) {
        const src = source ? join(source.dir, posix.relative(source.workdir, path)) : join(context, path);
        const target = dest.endsWith('/')
          ? join(inStage(stage, dest), posix.basename(path))
          : inStage(stage, dest);
        // What .dockerignore leaves out of the build context never reaches a COPY from it.
        cpSync(src, target, { recursive: true, ...(source ? {} : { filter: sentToDocker }) });
      }
    } else if (keyword === 'RUN') {
      const command = text.replace(/--mount=\S+\s*/g, '');
      log(`[${stage.name}] RUN ${command}`);
      try {
        execSync(command, {
          cwd: inStage(stage, '.'),
          stdio: 'pipe',
          env: {
            ...process.env,
            ...stage.env,
            npm_config_prefer_offline: 'true',
            npm_config_update_notifier: 'false',
          },
        });
      } catch (err) {
        const { stdout = '', stderr = '' } = err as { stdout?: Buffer; stderr?: Buffer };
        throw new Error(`[${stage.name}] RUN ${command} failed:\n${stdout.toString()}\n${stderr.toString()}`);
      }
    } else if (keyword === 'CMD') {
      stage.cmd = JSON.parse(text) as string[];
    } else if (keyword === 'HEALTHCHECK') {
      stage.healthcheck = JSON.parse(text.slice(text.indexOf('CMD') + 3).trim()) as string[];
    }
  }
  return stages;
}
