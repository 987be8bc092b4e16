import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARIABLES, loadConfig } from '../../app/config.js';

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
  stop_grace_period?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const load = (file: string) => parse(readFileSync(file, 'utf8')) as ComposeFile;
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1]);
/** What the app would see, with compose's ${VAR:-default} and ${VAR:?error} filled in. */
const resolved = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      value.replace(/\$\{[A-Z_]+(:-([^}]*)|:\?[^}]*)\}/g, (_m, _all, fallback) => fallback ?? 'k'.repeat(48)),
    ]),
  );

describe.each(['docker-compose.yml', 'docker-compose.autoscale.yml'])('%s', (file) => {
  const compose = load(file);
  const app = compose.services['mcp-server'];

  it('builds the app from app/Dockerfile with the repo as context', () => {
    expect(app?.build).toEqual({ context: '.', dockerfile: 'app/Dockerfile' });
    expect(existsSync('app/Dockerfile')).toBe(true);
  });

  it('sets only variables the app reads, and a configuration the app accepts', () => {
    const env = app?.environment ?? {};
    for (const name of Object.keys(env)) expect(ENV_VARIABLES).toContain(name);
    const config = loadConfig(resolved(env));
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(3000);
    expect(config.redisUrl).toBe('redis://redis:6379');
    expect(compose.services.redis?.image).toMatch(/^redis:7/);
  });

  it('gives a drain time to finish before Docker kills the container', () => {
    const grace = Number(app?.environment?.SHUTDOWN_GRACE_SECONDS);
    expect(seconds(app?.stop_grace_period ?? '')).toBeGreaterThan(grace);
  });
});

describe('docker-compose.yml', () => {
  it('publishes the app port on loopback only', () => {
    expect(load('docker-compose.yml').services['mcp-server']?.ports).toEqual(['127.0.0.1:3000:3000']);
  });
});

describe('docker-compose.autoscale.yml', () => {
  const compose = load('docker-compose.autoscale.yml');

  it('can scale the app: no fixed host port or container name on mcp-server', () => {
    const app = compose.services['mcp-server'];
    expect(app?.ports).toBeUndefined();
    expect(app?.expose).toEqual(['3000']);
    expect(Object.keys(app ?? {})).not.toContain('container_name');
  });

  it('puts nginx in front, configured for SSE and resolving the service on every request', () => {
    const volume = compose.services.nginx?.volumes?.[0] ?? '';
    const [hostPath] = volume.split(':');
    const conf = readFileSync(hostPath ?? '', 'utf8');
    expect(conf).toMatch(/resolver 127\.0\.0\.11 valid=\d+s/);
    // A variable in proxy_pass is what makes nginx re-resolve instead of resolving once at start.
    expect(conf).toMatch(/set \$mcp_upstream http:\/\/mcp-server:3000;/);
    expect(conf).toMatch(/proxy_pass \$mcp_upstream;/);
    expect(conf).toMatch(/proxy_buffering off;/);
    expect(conf).toMatch(/proxy_http_version 1\.1;/);
    expect(conf).toMatch(/proxy_read_timeout 3600s;/);
    expect(conf).toMatch(/proxy_send_timeout 3600s;/);
    expect(compose.services.nginx?.ports).toEqual(['127.0.0.1:8080:8080']);
    expect(conf).toMatch(/listen 8080;/);
  });
});
