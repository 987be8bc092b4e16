import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../infra/config.js';
import { PRODUCTION_DOMAIN, userSettings } from './expectations.js';
import { readStackConfig } from './harness.js';

/** Stack config is checked before any resource exists; each class of mistake names its key. */

const staging = () => readStackConfig('staging');

function problemsOf(raw: Record<string, unknown>): string {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected the config to be rejected');
}

function withApp(patch: Record<string, unknown>, platform: 'ecs' | 'eks' = 'ecs'): Record<string, unknown> {
  const raw = { ...staging(), ...userSettings('staging', platform) };
  const servers = raw.servers as Record<string, Record<string, unknown>>;
  return { ...raw, servers: { ...servers, app: { ...servers.app, ...patch } } };
}

describe('stack config', () => {
  it.each(['staging', 'production'] as const)('accepts the %s stack file on both platforms', (stack) => {
    for (const platform of ['ecs', 'eks'] as const) {
      const config = parseConfig({ ...readStackConfig(stack), ...userSettings(stack, platform) });
      expect(config.platform).toBe(platform);
      expect(config.servers.app?.redis).toBe(true);
      expect(config.servers.everything?.image).toMatch(/^docker\.io\/mcp\/everything@sha256:[0-9a-f]{64}$/);
    }
  });

  it('deploys staging as shipped: nothing to invent, nothing encrypted, nothing fake', () => {
    expect(() => parseConfig(staging(), { region: 'eu-west-1' })).not.toThrow();
    for (const stack of ['staging', 'production']) {
      const text = readFileSync(`Pulumi.${stack}.yaml`, 'utf8').replace(/^\s*#.*$/gm, '');
      // No ciphertext (bound to one stack's secrets provider), no example hosts, no fake account,
      // no TEST-NET CIDR, no certificate ARN.
      expect(text).not.toMatch(
        /secure:|example\.(com|net|org)|111122223333|203\.0\.113|198\.51\.100|arn:aws/,
      );
    }
  });

  it('refuses production without a domain, naming the command that sets it', () => {
    expect(problemsOf({ ...readStackConfig('production'), platform: 'ecs' })).toContain(
      'mcp-fleet:domain: required: this stack sets requireHttps (it serves production traffic over HTTPS only); set it with `pulumi config set domain mcp.example.com`',
    );
  });

  it('names every server under the domain, and refuses a host the certificate would not cover', () => {
    const config = parseConfig({ ...staging(), domain: PRODUCTION_DOMAIN });
    expect(config.servers.app?.ingress?.host).toBe(`app.${PRODUCTION_DOMAIN}`);
    // Behind the app's gateway: no route, so no host of its own.
    expect(config.servers.everything?.ingress).toBeUndefined();
    expect(
      problemsOf({ ...withApp({ ingress: { host: 'a.b.mcp.example.com' } }), domain: PRODUCTION_DOMAIN }),
    ).toContain(
      'mcp-fleet:servers.app.ingress.host: a.b.mcp.example.com is not covered by the certificate for mcp.example.com and *.mcp.example.com',
    );
    expect(
      problemsOf({ ...withApp({ ingress: { host: PRODUCTION_DOMAIN } }, 'eks'), domain: PRODUCTION_DOMAIN }),
    ).toContain('mcp-fleet:servers.app.ingress.host: mcp.example.com is the zone apex');
    expect(() =>
      parseConfig({ ...withApp({ ingress: { host: PRODUCTION_DOMAIN } }), domain: PRODUCTION_DOMAIN }),
    ).not.toThrow();
  });

  it('refuses a server without a host on EKS with the F5 controller, which routes by host only', () => {
    const raw = { ...staging(), ...userSettings('staging', 'eks') };
    delete raw.domain;
    expect(problemsOf(raw)).toContain(
      'mcp-fleet:servers.app.ingress.host: required on EKS with the F5 controller, which routes Ingresses by host only; set domain',
    );
    expect(() => parseConfig({ ...raw, ingress: { controller: 'ingress-nginx' } })).not.toThrow();
  });

  it('keeps the metrics port apart from the app port on ECS', () => {
    expect(problemsOf({ ...withApp({ port: 9464 }) })).toContain(
      'mcp-fleet:servers.app.port: 9464 is also metrics.port, where the app serves /metrics on ECS',
    );
  });

  it('refuses vpc.nat none, which leaves tasks unable to pull images or read secrets', () => {
    expect(problemsOf({ ...staging(), vpc: { nat: 'none' } })).toContain(
      'mcp-fleet:vpc.nat: none is not supported: tasks and nodes pull images, read secrets and ship logs over NAT',
    );
  });

  it('takes the AZs from the stack, and refuses names outside aws:region', () => {
    expect(parseConfig(staging()).vpc).toMatchObject({
      azCount: 2,
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    });
    const raw = { ...staging(), vpc: { availabilityZones: ['us-east-1a', 'us-east-1b'] } };
    try {
      parseConfig(raw, { region: 'eu-west-1' });
      throw new Error('expected the config to be rejected');
    } catch (error) {
      expect((error as ConfigError).message).toContain(
        'mcp-fleet:vpc.availabilityZones.0: us-east-1a is not in aws:region eu-west-1',
      );
    }
  });

  it('refuses a path the load balancer could not strip, and two routes with one priority', () => {
    expect(problemsOf(withApp({ ingress: { path: '/team-a/' } }))).toContain(
      'mcp-fleet:servers.app.ingress.path: expected "/" or a prefix such as /team-a (no trailing slash)',
    );
    const raw = staging();
    const servers = raw.servers as Record<string, Record<string, unknown>>;
    const clash = {
      ...raw,
      servers: {
        ...servers,
        app: { ...servers.app, ingress: { path: '/', priority: 4242 } },
        everything: {
          ...servers.everything,
          stateless: true,
          ingress: { path: '/everything', priority: 4242 },
        },
      },
    };
    expect(problemsOf(clash)).toContain(
      `mcp-fleet:servers.everything.ingress.priority: listener-rule priority 4242 is also server "app"'s`,
    );
    // The app's second rule (its 5 client paths do not fit one rule with a host) takes the next number.
    const withHost = {
      ...clash,
      domain: PRODUCTION_DOMAIN,
      servers: { ...clash.servers, everything: { ...clash.servers.everything, ingress: { priority: 4243 } } },
    };
    expect(problemsOf(withHost)).toContain(
      `mcp-fleet:servers.everything.ingress.priority: listener-rule priority 4243 is also server "app"'s`,
    );
  });

  it('checks generated-secret overrides without echoing them', () => {
    const message = problemsOf({ ...staging(), redisAuthToken: 'has/slash-0123456789', stateKey: 'short' });
    expect(message).toContain('mcp-fleet:redisAuthToken: expected 16-128 letters, digits or !&#$^<>-');
    expect(message).toContain('mcp-fleet:stateKey: expected at least 32 bytes (value not shown)');
    expect(message).not.toContain('has/slash-0123456789');
    expect(message).not.toMatch(/\bshort\b/);
  });

  it('keeps the app read-only and lets third-party images write their own filesystem by default', () => {
    const config = parseConfig(staging());
    expect(config.servers.app?.readOnlyRootFilesystem).toBe(true);
    expect(config.servers.everything?.readOnlyRootFilesystem).toBe(false);
  });

  it('fills Helm-like defaults for a minimal server', () => {
    const config = parseConfig({
      platform: 'ecs',
      servers: { app: { build: 'app' } },
      serverSecrets: { app: { AUTH_API_KEYS: 'a-key-of-sixteen-chars' } },
    });
    expect(config.servers.app).toMatchObject({
      port: 3000,
      drainSeconds: 25,
      probes: {
        liveness: { path: '/live' },
        readiness: { path: '/ready' },
        startup: { failureThreshold: 30 },
      },
      ingress: { path: '/', sse: true },
      redis: true,
    });
    expect(config.vpc.nat).toBe('single');
    expect(config.ingress.controller).toBe('f5-nginx');
  });

  it('rejects an unknown platform', () => {
    expect(problemsOf({ ...staging(), platform: 'lambda' })).toContain(
      'mcp-fleet:platform: expected "ecs" or "eks"',
    );
  });

  it('rejects autoscaling with min above max', () => {
    expect(problemsOf(withApp({ autoscaling: { enabled: true, min: 5, max: 3 } }))).toContain(
      'mcp-fleet:servers.app.autoscaling.min: expected min (5) <= max (3)',
    );
  });

  it('rejects a CPU/memory pair Fargate does not offer, on ECS only', () => {
    expect(problemsOf(withApp({ resources: { cpu: 256, memory: 4096 } }))).toContain(
      'mcp-fleet:servers.app.resources: Fargate cpu 256 accepts memory 512-2048 MiB',
    );
    expect(() => parseConfig(withApp({ resources: { cpu: 256, memory: 4096 } }, 'eks'))).not.toThrow();
  });

  it('rejects a port out of range', () => {
    expect(problemsOf(withApp({ port: 70000 }))).toContain(
      'mcp-fleet:servers.app.port: expected a port in 1-65535',
    );
  });

  it('rejects a server with neither image nor build, and one with both', () => {
    const { build: _build, ...withoutBuild } =
      (staging().servers as Record<string, Record<string, unknown>>).app ?? {};
    const neither = { ...staging(), servers: { app: withoutBuild } };
    expect(problemsOf(neither)).toContain(
      'mcp-fleet:servers.app: expected exactly one of `build: app` or `image`, got neither',
    );
    expect(problemsOf(withApp({ image: 'nginx:1' }))).toContain('got both');
  });

  it('rejects two servers on the same host and path', () => {
    const raw = withApp({ ingress: { path: '/everything' } });
    const servers = raw.servers as Record<string, Record<string, unknown>>;
    const both = {
      ...raw,
      servers: {
        ...servers,
        everything: { ...servers.everything, stateless: true, ingress: { path: '/everything' } },
      },
    };
    expect(problemsOf(both)).toMatch(
      /mcp-fleet:servers\.(app|everything)\.ingress\.host: \(no host\) with path \/everything is already routed to server "(app|everything)"/,
    );
  });

  it('refuses credentials in plaintext env and asks for them under secrets', () => {
    expect(problemsOf(withApp({ env: { GITHUB_TOKEN: 'ghp_x' } }))).toContain(
      'mcp-fleet:servers.app.env.GITHUB_TOKEN: looks like a credential; list it under `secrets`',
    );
    expect(problemsOf(withApp({ env: { REDIS_URL: 'redis://x' } }))).toContain(
      'mcp-fleet:servers.app.env.REDIS_URL: is set by the platform',
    );
  });

  it('requires a secure value for every declared secret', () => {
    const raw = withApp({ secrets: ['GITHUB_TOKEN'] });
    expect(problemsOf(raw)).toContain(
      "mcp-fleet:serverSecrets.app.GITHUB_TOKEN: missing; set it with `pulumi config set --secret --path 'serverSecrets.app.GITHUB_TOKEN' <value>`",
    );
  });

  it('names unknown keys, so a typo is not silently ignored', () => {
    expect(problemsOf({ ...staging(), logRetention: 30 })).toContain('mcp-fleet:logRetention: unknown key');
    expect(problemsOf(withApp({ replicaCount: 3 }))).toContain(
      'mcp-fleet:servers.app: Unrecognized key: "replicaCount"',
    );
  });

  it('rejects a log retention CloudWatch does not offer', () => {
    expect(problemsOf({ ...staging(), logRetentionDays: 10 })).toContain(
      'mcp-fleet:logRetentionDays: expected one of',
    );
  });

  it('rejects multi-AZ Redis without a replica to fail over to', () => {
    expect(problemsOf({ ...staging(), redis: { multiAz: true, replicas: 0 } })).toContain(
      'mcp-fleet:redis.replicas: expected at least 1 replica when multiAz is true',
    );
  });

  it('refuses an EKS API endpoint open to the world', () => {
    const raw = {
      ...staging(),
      platform: 'eks',
      eks: { endpoint: { publicAccess: true, publicAccessCidrs: ['0.0.0.0/0'] } },
    };
    expect(problemsOf(raw)).toContain(
      'mcp-fleet:eks.endpoint.publicAccessCidrs.0: refusing a CIDR open to the world',
    );
  });

  it('rejects an unknown ingress controller', () => {
    expect(problemsOf({ ...staging(), ingress: { controller: 'traefik' } })).toContain(
      'mcp-fleet:ingress.controller: expected "f5-nginx" or "ingress-nginx"',
    );
  });

  it('authenticates the app with API keys by default, and third-party images only when asked', () => {
    const config = parseConfig({
      platform: 'ecs',
      servers: {
        app: { build: 'app' },
        other: { image: 'ghcr.io/example/mcp:1', stateless: true, ingress: { host: 'other.example.com' } },
      },
      serverSecrets: { app: { AUTH_API_KEYS: 'a-key-of-sixteen-chars' } },
    });
    expect(config.servers.app?.auth).toEqual({ mode: 'apikey' });
    expect(config.servers.other?.auth).toBeUndefined();
  });

  it('accepts apikey auth without keys: the program generates them', () => {
    expect(parseConfig({ ...staging(), serverSecrets: {} }).servers.app?.auth).toEqual({ mode: 'apikey' });
  });

  it('refuses API keys the app would reject, without echoing them', () => {
    const raw = { ...staging(), serverSecrets: { app: { AUTH_API_KEYS: 'good-key-0123456789,short' } } };
    const message = problemsOf(raw);
    expect(message).toContain(
      'mcp-fleet:serverSecrets.app.AUTH_API_KEYS: expected comma-separated keys of at least 16 visible characters',
    );
    expect(message).not.toContain('short');
    expect(message).not.toContain('good-key');
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(() =>
      parseConfig({
        ...staging(),
        serverSecrets: { app: { AUTH_API_KEYS: `${digest}, another-key-0123456` } },
      }),
    ).not.toThrow();
  });

  it('refuses oauth without an issuer and an audience', () => {
    const message = problemsOf(withApp({ auth: { mode: 'oauth' } }));
    expect(message).toContain(
      'mcp-fleet:servers.app.auth.issuer: required when auth.mode is oauth: the authorization server issuer, an https:// URL',
    );
    expect(message).toContain(
      'mcp-fleet:servers.app.auth.audience: required when auth.mode is oauth: the audience your tokens are issued for',
    );
    expect(problemsOf(withApp({ auth: { mode: 'oauth', issuer: 'http://idp', audience: 'mcp' } }))).toContain(
      'mcp-fleet:servers.app.auth.issuer: expected the authorization server issuer, an https:// URL',
    );
  });

  it('accepts oauth with issuer and audience, and then wants no API keys', () => {
    const auth = { mode: 'oauth', issuer: 'https://id.example.com', audience: 'https://mcp.example.com' };
    const config = parseConfig({ ...withApp({ auth }), serverSecrets: {} });
    expect(config.servers.app?.auth).toEqual(auth);
    const keys = { app: { AUTH_API_KEYS: 'a-key-of-sixteen-chars' } };
    expect(problemsOf({ ...withApp({ auth }), serverSecrets: keys })).toContain(
      'mcp-fleet:serverSecrets.app.AUTH_API_KEYS: only used when servers.app.auth.mode is apikey (it is oauth); remove it',
    );
  });

  it('rejects OAuth settings outside oauth mode, and an unknown mode', () => {
    expect(problemsOf(withApp({ auth: { mode: 'apikey', issuer: 'https://id.example.com' } }))).toContain(
      'mcp-fleet:servers.app.auth.issuer: only used when auth.mode is oauth; remove it',
    );
    expect(problemsOf(withApp({ auth: { mode: 'basic' } }))).toContain(
      'mcp-fleet:servers.app.auth.mode: expected "none", "apikey" or "oauth"',
    );
  });

  it('keeps authentication in `auth`: AUTH_* in env or AUTH_API_KEYS under secrets is refused', () => {
    expect(problemsOf(withApp({ env: { AUTH_MODE: 'none' } }))).toContain(
      'mcp-fleet:servers.app.env.AUTH_MODE: is set from `auth`',
    );
    expect(problemsOf(withApp({ secrets: ['AUTH_API_KEYS'] }))).toContain(
      'mcp-fleet:servers.app.secrets.0: AUTH_API_KEYS is delivered by auth.mode apikey; remove it from secrets',
    );
  });

  it("offers the app's administrator settings through `auth`: adminScope for oauth, adminKeys for apikey", () => {
    const oauth = { mode: 'oauth', issuer: 'https://id.example.com', audience: 'mcp' };
    expect(
      parseConfig({ ...withApp({ auth: { ...oauth, adminScope: 'fleet:admin' } }), serverSecrets: {} })
        .servers.app?.auth,
    ).toEqual({ ...oauth, adminScope: 'fleet:admin' });
    expect(problemsOf(withApp({ auth: { ...oauth, adminScope: 'fleet admin' } }))).toContain(
      'mcp-fleet:servers.app.auth.adminScope: expected one OAuth scope (visible characters, no spaces)',
    );
    expect(problemsOf(withApp({ auth: { mode: 'apikey', adminScope: 'fleet:admin' } }))).toContain(
      'mcp-fleet:servers.app.auth.adminScope: only used when auth.mode is oauth; remove it',
    );
    expect(problemsOf(withApp({ auth: { ...oauth, adminKeys: true } }))).toContain(
      'mcp-fleet:servers.app.auth.adminKeys: only used when auth.mode is apikey',
    );
    // Admin keys are generated unless set; a set value is checked like the API keys, never echoed.
    expect(() => parseConfig(withApp({ auth: { mode: 'apikey', adminKeys: true } }))).not.toThrow();
    const badAdmin = problemsOf({
      ...withApp({ auth: { mode: 'apikey', adminKeys: true } }),
      serverSecrets: { app: { AUTH_ADMIN_API_KEYS: 'short-admin' } },
    });
    expect(badAdmin).toContain(
      'mcp-fleet:serverSecrets.app.AUTH_ADMIN_API_KEYS: expected comma-separated keys of at least 16 visible characters',
    );
    expect(badAdmin).not.toContain('short-admin');
    expect(
      problemsOf({
        ...withApp({}),
        serverSecrets: { app: { AUTH_ADMIN_API_KEYS: 'an-admin-key-0123456789' } },
      }),
    ).toContain(
      'mcp-fleet:serverSecrets.app.AUTH_ADMIN_API_KEYS: only used when servers.app.auth is { mode: apikey, adminKeys: true }',
    );
    for (const name of ['AUTH_ADMIN_API_KEYS', 'OAUTH_ADMIN_SCOPE']) {
      expect(problemsOf(withApp({ env: { [name]: 'x' } }))).toContain(
        `mcp-fleet:servers.app.env.${name}: is set from \`auth\``,
      );
    }
    expect(problemsOf(withApp({ secrets: ['AUTH_ADMIN_API_KEYS'] }))).toContain(
      'mcp-fleet:servers.app.secrets.0: AUTH_ADMIN_API_KEYS is delivered by auth.adminKeys; remove it from secrets',
    );
  });

  it('tells credentials from names that only describe one', () => {
    for (const name of ['SIGNING_KEY', 'DB_PASSWORD', 'STRIPE_SECRET', 'X_API_KEYS', 'GITHUB_TOKEN']) {
      expect(problemsOf(withApp({ env: { [name]: 'x' } }))).toContain(`env.${name}: looks like a credential`);
    }
    expect(() =>
      parseConfig(withApp({ env: { AWS_ACCESS_KEY_ID: 'AKIA', CACHE_KEY_PREFIX: 'x', TOKEN_TTL: '60' } })),
    ).not.toThrow();
  });

  it('reports every problem at once', () => {
    const message = problemsOf({ ...withApp({ port: 0 }), platform: 'ecs', logRetentionDays: 2 });
    expect(message).toMatch(/^Invalid stack config \(2 problems\):/);
  });
});
