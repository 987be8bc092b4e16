import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../infra/config.js';
import { upstreamsJson } from '../../infra/shared/upstreams.js';
import { userSettings } from './expectations.js';
import { readStackConfig } from './harness.js';

/** The stack keys of the gateway (issue 13, deliverable 5): what becomes UPSTREAMS, and what is refused. */

// biome-ignore lint/suspicious/noExplicitAny: raw stack config, edited key by key.
type Raw = Record<string, any>;

function stack(platform: 'ecs' | 'eks' = 'ecs', servers: Raw = {}, extra: Raw = {}): Raw {
  const raw = { ...readStackConfig('staging'), ...userSettings('staging', platform) } as Raw;
  return { ...raw, ...extra, servers: { ...raw.servers, ...servers } };
}

function problemsOf(raw: Raw): string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected the config to be rejected');
}

const everything = () => (readStackConfig('staging').servers as Raw).everything as Raw;

describe('the gateway in the stack config', () => {
  it('refuses a route of its own for a third-party server not declared stateless, saying why and what to do', () => {
    const problems = problemsOf(
      stack('ecs', { everything: { ...everything(), ingress: { path: '/everything' } } }),
    );
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem).toMatch(/^mcp-fleet:servers\.everything\.ingress: /);
    // Why: round robin loses in-memory sessions. What to do: drop ingress (the gateway), or declare stateless.
    expect(problem).toContain('round robin');
    expect(problem).toContain('Remove `ingress`');
    expect(problem).toContain('/servers/<name>/');
    expect(problem).toContain('`stateless: true`');
  });

  it('lets a stateless third-party server take its own route, and keeps it out of UPSTREAMS', () => {
    const config = parseConfig(
      stack('ecs', { everything: { ...everything(), stateless: true, ingress: { path: '/everything' } } }),
    );
    expect(config.servers.everything?.ingress?.path).toBe('/everything');
    expect(upstreamsJson(config.servers, 'ecs')).toBeUndefined();
  });

  it('builds UPSTREAMS from each third-party server without a route: its DNS name per platform, its port, a base path from its mcpPath', () => {
    const servers = {
      docs: { image: 'ghcr.io/example/docs-mcp:1', port: 8080, mcpPath: '/api/v1/mcp' },
    };
    const ecs = parseConfig(stack('ecs', servers)).servers;
    expect(JSON.parse(upstreamsJson(ecs, 'ecs') as string)).toEqual({
      docs: { dns: 'docs.mcp-fleet.internal', port: 8080, basePath: '/api/v1' },
      everything: { dns: 'everything.mcp-fleet.internal', port: 3001 },
    });
    const eks = parseConfig(stack('eks', servers)).servers;
    expect(JSON.parse(upstreamsJson(eks, 'eks') as string)).toEqual({
      docs: { dns: 'docs.mcp-docs.svc.cluster.local', port: 8080, basePath: '/api/v1' },
      everything: { dns: 'everything.mcp-everything.svc.cluster.local', port: 3001 },
    });
  });

  it('caps a server behind Cloud Map at eight tasks on ECS, where answers hold at most eight records', () => {
    const scaled = { everything: { ...everything(), autoscaling: { enabled: true, min: 2, max: 9 } } };
    expect(problemsOf(stack('ecs', scaled))).toEqual([
      expect.stringMatching(
        /^mcp-fleet:servers\.everything\.autoscaling\.max: 9 tasks, but Cloud Map answers the gateway with at most 8/,
      ),
    ]);
    expect(problemsOf(stack('ecs', { everything: { ...everything(), replicas: 12 } }))[0]).toMatch(
      /^mcp-fleet:servers\.everything\.replicas: 12 tasks/,
    );
    // A headless Service answers with every ready pod.
    expect(() => parseConfig(stack('eks', scaled))).not.toThrow();
  });

  it('needs exactly one app to front the upstreams', () => {
    const raw = stack('ecs');
    const twoApps = {
      ...raw,
      servers: { ...raw.servers, app2: { ...raw.servers.app, ingress: { path: '/two' } } },
    };
    expect(problemsOf(twoApps)).toContain(
      "mcp-fleet:servers: everything is reached through the app's gateway, which needs exactly one `build: app` server; found 2",
    );
  });

  it('refuses upstream headers the gateway would refuse, misplaced, or named like a variable the app reads', () => {
    const headers = (upstreamHeaders: Raw, more: Raw = {}) =>
      stack('ecs', { everything: { ...everything(), upstreamHeaders, ...more } });
    const withValues = (raw: Raw, values: Raw) => ({ ...raw, serverSecrets: { everything: values } });
    // The app's own parser refuses a header it sets itself; reported under the stack key.
    expect(problemsOf(withValues(headers({ Host: 'EVERYTHING_HOST' }), { EVERYTHING_HOST: 'x' }))).toEqual([
      'mcp-fleet:servers.everything.upstreamHeaders.Host: expected a header the gateway does not set itself',
    ]);
    expect(problemsOf(withValues(headers({ Authorization: 'PORT' }), { PORT: 'x' }))).toEqual([
      'mcp-fleet:servers.everything.upstreamHeaders.Authorization: PORT is a variable the app already has; name the secret after this server, e.g. EVERYTHING_AUTHORIZATION',
    ]);
    expect(problemsOf(headers({ Authorization: 'EVERYTHING_AUTHORIZATION' }))).toEqual([
      "mcp-fleet:serverSecrets.everything.EVERYTHING_AUTHORIZATION: missing; set it with `pulumi config set --secret --path 'serverSecrets.everything.EVERYTHING_AUTHORIZATION' <value>`",
    ]);
    expect(
      problemsOf(
        withValues(headers({ Authorization: 'TOKEN_A' }, { stateless: true, ingress: {} }), { TOKEN_A: 'x' }),
      ),
    ).toContain(
      "mcp-fleet:servers.everything.upstreamHeaders: only for a third-party server reached through the app's gateway (an image without its own ingress): the gateway adds these headers",
    );
  });

  it('refuses an mcpPath that names no endpoint, and UPSTREAMS set by hand on the app', () => {
    expect(problemsOf(stack('ecs', { everything: { ...everything(), mcpPath: '/' } }))).toEqual([
      'mcp-fleet:servers.everything.mcpPath: / names no endpoint; expected the path the server answers MCP on, such as /mcp',
    ]);
    const raw = stack('ecs');
    const handMade = {
      ...raw,
      servers: { ...raw.servers, app: { ...raw.servers.app, env: { UPSTREAMS: '{}' } } },
    };
    expect(problemsOf(handMade)[0]).toMatch(
      /^mcp-fleet:servers\.app\.env\.UPSTREAMS: is built from the stack/,
    );
  });

  it('refuses a path prefix on EKS with the F5 controller, whose rewrites cannot strip it from each client path', () => {
    const raw = stack('eks');
    const prefixed = {
      ...raw,
      servers: { ...raw.servers, app: { ...raw.servers.app, ingress: { path: '/team-a' } } },
    };
    expect(problemsOf(prefixed)).toEqual([
      'mcp-fleet:servers.app.ingress.path: /team-a: on EKS with the F5 controller each server has a host of its own (F5 routes Ingresses by host only); expected /',
    ]);
    expect(() => parseConfig({ ...prefixed, ingress: { controller: 'ingress-nginx' } })).not.toThrow();
  });
});
