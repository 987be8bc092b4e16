import { beforeAll, expect, it } from 'vitest';
import {
  assertSecretsOnlyWhereAllowed,
  SHIPPED_SECRETS,
  STAGING_DOMAIN,
  userSettings,
} from './expectations.js';
import { type ProgramRun, readStackConfig, runProgram } from './harness.js';

/** The app switched to OAuth: issuer and audience become plain env, and no API keys exist anywhere. */
const auth = {
  mode: 'oauth',
  issuer: 'https://login.example.com/realms/mcp',
  audience: 'https://mcp.staging.example.com/mcp',
  jwksUrl: 'https://login.example.com/realms/mcp/certs',
  adminScope: 'fleet:admin',
};

let run: ProgramRun;
beforeAll(async () => {
  const servers = readStackConfig('staging').servers as Record<string, Record<string, unknown>>;
  run = await runProgram('staging', {
    ...userSettings('staging', 'eks'),
    servers: { ...servers, app: { ...servers.app, auth } },
    serverSecrets: {},
  });
});

// biome-ignore lint/suspicious/noExplicitAny: a container spec read field by field.
const appContainer = (): any =>
  run.one('kubernetes:apps/v1:Deployment', 'app-deployment').inputs.spec.template.spec.containers[0];

it('hands the app its OAuth issuer, audience, JWKS and admin scope as plain env', () => {
  const env = appContainer().env as { name: string; value?: string }[];
  expect(env).toEqual(
    expect.arrayContaining([
      { name: 'AUTH_MODE', value: 'oauth' },
      { name: 'OAUTH_ISSUER', value: auth.issuer },
      { name: 'OAUTH_AUDIENCE', value: auth.audience },
      { name: 'OAUTH_JWKS_URL', value: auth.jwksUrl },
      { name: 'OAUTH_ADMIN_SCOPE', value: auth.adminScope },
      { name: 'PUBLIC_URL', value: `https://app.${STAGING_DOMAIN}` },
    ]),
  );
  expect(env.map((variable) => variable.name)).not.toContain('AUTH_API_KEYS');
});

it('creates no API-key secret, and still keeps every other secret out of plaintext', () => {
  const secret = run.one('kubernetes:core/v1:Secret', 'app-secret');
  expect(Object.keys(secret.inputs.stringData).sort()).toEqual(['MCP_STATE_KEY', 'REDIS_URL']);
  expect(run.ofType('aws:secretsmanager/secret:Secret').map((s) => s.name)).not.toContain('mcp-fleet-app');
  assertSecretsOnlyWhereAllowed(
    run,
    SHIPPED_SECRETS.filter((value) => !value.endsWith('app-api-key')),
  );
});
