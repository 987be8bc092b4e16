import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startAppNode } from '../helpers/app-node.js';
import {
  connectEveryEra,
  connectLegacyClient,
  connectModernClient,
  connectSseClient,
  structuredOf,
  textOf,
} from '../helpers/clients.js';
import { initializeRequest } from '../helpers/raw-streamable.js';
import { MCP_POST_HEADERS } from '../helpers/security.js';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/**
 * A real authorization server as far as a resource server can tell: RFC 8414 metadata naming a
 * JWKS, served on loopback, whose published keys the test rotates.
 */
async function startIssuer() {
  let published: JWK[] = [];
  let jwksFetches = 0;
  const server: Server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/.well-known/oauth-authorization-server') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          issuer: base,
          jwks_uri: `${base}/jwks.json`,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          response_types_supported: ['code'],
        }),
      );
      return;
    }
    if (req.url === '/jwks.json') {
      jwksFetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksFetches: () => jwksFetches,
    async newKey(kid: string) {
      const { privateKey, publicKey } = await generateKeyPair('RS256');
      return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
    },
    publish(...keys: { jwk: JWK }[]) {
      published = keys.map((key) => key.jwk);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const AUDIENCE = 'https://mcp.example.test/mcp';

async function token(
  key: { kid: string; privateKey: SigningKey },
  claims: {
    sub?: string;
    scope?: string;
    aud?: string;
    iss: string;
    expiresIn?: string | number;
    /** Raw claims, set as given: a `sub` of any JSON type, which setSubject would refuse. */
    raw?: Record<string, unknown>;
  },
): Promise<string> {
  const jwt = new SignJWT({ ...(claims.scope === undefined ? {} : { scope: claims.scope }), ...claims.raw })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer(claims.iss)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? '5m');
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  return jwt.sign(key.privateKey);
}

describe('AUTH_MODE=oauth: JWT access tokens verified against the issuer JWKS', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let node: AppNode;
  let k1: Awaited<ReturnType<Awaited<ReturnType<typeof startIssuer>>['newKey']>>;

  beforeAll(async () => {
    issuer = await startIssuer();
    k1 = await issuer.newKey('k1');
    issuer.publish(k1);
    // No OAUTH_JWKS_URL: the node discovers the JWKS from the issuer's RFC 8414 metadata.
    node = await startAppNode({
      nodeId: 'oauth',
      env: {
        AUTH_MODE: 'oauth',
        OAUTH_ISSUER: issuer.url,
        OAUTH_AUDIENCE: AUDIENCE,
        OAUTH_JWKS_REFRESH_SECONDS: '1',
        OAUTH_REQUIRED_SCOPES: 'mcp',
        OAUTH_TOOL_SCOPES: 'remember=memory:write',
      },
    });
  });
  afterAll(async () => {
    await node?.stop();
    await issuer?.close();
  });

  const post = (authorization: string | undefined, body: unknown, extra: Record<string, string> = {}) =>
    fetch(new URL('/mcp', node.url), {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, ...extra, ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
  const initialize = initializeRequest('raw');

  it('serves RFC 9728 metadata naming the issuer and the scopes', async () => {
    const response = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', node.url));
    expect(await response.json()).toEqual({
      resource: `${node.url}/mcp`,
      authorization_servers: [issuer.url],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp', 'memory:write'],
      resource_name: 'mcp-fleet',
    });
  });

  it('admits a valid token in the 2025 and 2026 eras, and the principal is its subject, namespaced by its issuer', async () => {
    const bearer = await token(k1, { sub: 'user-42', scope: 'mcp', iss: issuer.url });
    const legacy = await connectLegacyClient(() => node.url, 'oauth-legacy', { token: bearer });
    const modern = await connectModernClient(() => node.url, 'oauth-modern', { token: bearer });
    expect(structuredOf(await legacy.client.callTool({ name: 'node_info', arguments: {} })).principal).toBe(
      `oauth:${issuer.url}#user-42`,
    );
    expect(structuredOf(await modern.client.callTool({ name: 'node_info', arguments: {} })).principal).toBe(
      `oauth:${issuer.url}#user-42`,
    );
    await Promise.all([legacy.client.close(), modern.client.close()]);
  });

  it.each([
    [
      'expired',
      { sub: 'u', scope: 'mcp', expiresIn: Math.floor(Date.now() / 1000) - 60 },
      'Token has expired',
    ],
    [
      'for another audience',
      { sub: 'u', scope: 'mcp', aud: 'https://other.example/mcp' },
      'Token claim "aud"',
    ],
    ['from another issuer', { sub: 'u', scope: 'mcp', iss: 'https://evil.example' }, 'Token claim "iss"'],
    ['without a subject', { scope: 'mcp' }, 'Token claim "sub"'],
    ['with an empty subject', { sub: '', scope: 'mcp' }, 'Token claim "sub" must be a non-empty string'],
    ['with a blank subject', { sub: '  ', scope: 'mcp' }, 'Token claim "sub" must be a non-empty string'],
    [
      'with a null subject',
      { raw: { sub: null }, scope: 'mcp' },
      'Token claim "sub" must be a non-empty string',
    ],
    [
      'with an object as subject',
      { raw: { sub: { id: 'u' } }, scope: 'mcp' },
      'Token claim "sub" must be a non-empty string',
    ],
  ])('refuses a token %s with 401 and a challenge', async (_case, claims, message) => {
    const bearer = await token(k1, { iss: issuer.url, ...claims });
    const response = await post(`Bearer ${bearer}`, initialize);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(response.headers.get('www-authenticate')).toContain(
      `resource_metadata="${node.url}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(message);
  });

  it('refuses forgeries: a key the issuer never published, and an unsigned token', async () => {
    const stranger = await issuer.newKey('k1'); // same kid, different key
    const forged = await token(stranger, { sub: 'u', scope: 'mcp', iss: issuer.url });
    expect((await post(`Bearer ${forged}`, initialize)).status).toBe(401);
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({
        sub: 'u',
        scope: 'mcp',
        iss: issuer.url,
        aud: AUDIENCE,
        exp: Math.floor(Date.now() / 1000) + 300,
      }),
    ).toString('base64url');
    expect((await post(`Bearer ${header}.${payload}.`, initialize)).status).toBe(401);
  });

  it('answers 403 insufficient_scope without the scope every request needs', async () => {
    const bearer = await token(k1, { sub: 'u', scope: 'other', iss: issuer.url });
    const response = await post(`Bearer ${bearer}`, initialize);
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(response.headers.get('www-authenticate')).toContain('scope="mcp"');
  });

  it('checks per-tool scopes: remember needs memory:write, echo does not (2025 and 2026)', async () => {
    const reader = await token(k1, { sub: 'reader', scope: 'mcp', iss: issuer.url });
    const legacy = await connectLegacyClient(() => node.url, 'reader', { token: reader });
    expect(textOf(await legacy.client.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toBe('ok');
    const refused = await post(
      `Bearer ${reader}`,
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'remember', arguments: { key: 'k', value: 'v' } },
      },
      { 'mcp-session-id': legacy.sessionId() as string, 'mcp-protocol-version': '2025-06-18' },
    );
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('scope="memory:write"');
    const modern = await connectModernClient(() => node.url, 'reader-2026', { token: reader });
    await expect(
      modern.client.callTool({ name: 'remember', arguments: { key: 'k', value: 'v' } }),
    ).rejects.toThrow(/403|insufficient_scope|scope/i);
    const writer = await token(k1, { sub: 'writer', scope: 'mcp memory:write', iss: issuer.url });
    const allowed = await connectModernClient(() => node.url, 'writer', { token: writer });
    expect(
      textOf(await allowed.client.callTool({ name: 'remember', arguments: { key: 'k', value: 'v' } })),
    ).toBe('Remembered k.');
    await Promise.all([legacy.client.close(), modern.client.close(), allowed.client.close()]);
  });

  it('checks per-tool scopes on the 2024 HTTP+SSE transport too: the POST of the call gets 403', async () => {
    const reader = await token(k1, { sub: 'reader-2024', scope: 'mcp', iss: issuer.url });
    const sse = await connectSseClient(() => node.url, { token: reader });
    expect(textOf(await sse.client.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toBe('ok');
    await expect(
      sse.client.callTool({ name: 'remember', arguments: { key: 'k', value: 'v' } }),
    ).rejects.toThrow(/403/);
    // The same POST by hand: the scope challenge a client can step up with, in a JSON-RPC body.
    const { sessionId } = structuredOf<{ sessionId: string }>(
      await sse.client.callTool({ name: 'node_info', arguments: {} }),
    );
    const refused = await fetch(new URL(`/messages?sessionId=${sessionId}`, node.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${reader}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'remember', arguments: { key: 'k', value: 'v' } },
      }),
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(refused.headers.get('www-authenticate')).toContain('scope="memory:write"');
    expect(await refused.json()).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32000, data: { error: 'insufficient_scope' } },
    });
    // Nothing was stored: the refused calls never reached the tool.
    expect(
      structuredOf(await sse.client.callTool({ name: 'recall', arguments: { key: 'k' } })),
    ).toMatchObject({
      found: false,
    });
    await sse.client.close();
    const writer = await token(k1, { sub: 'writer-2024', scope: 'mcp memory:write', iss: issuer.url });
    const allowed = await connectSseClient(() => node.url, { token: writer });
    expect(
      textOf(await allowed.client.callTool({ name: 'remember', arguments: { key: 'k', value: 'v' } })),
    ).toBe('Remembered k.');
    await allowed.client.close();
  });

  it('lets only tokens granted OAUTH_ADMIN_SCOPE (mcp:admin by default) call notify_change, in every era', async () => {
    const user = await token(k1, { sub: 'plain-user', scope: 'mcp', iss: issuer.url });
    const admin = await token(k1, { sub: 'operator', scope: 'mcp mcp:admin', iss: issuer.url });
    const call = { name: 'notify_change', arguments: { kind: 'tools_list_changed' } };
    const refusedBy = await connectEveryEra(() => node.url, 'user', user);
    for (const client of refusedBy) {
      const result = await client.callTool(call);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('access token granted the scope "mcp:admin"');
      await client.close();
    }
    const operator = await connectLegacyClient(() => node.url, 'operator-2025', { token: admin });
    const published = await operator.client.callTool(call);
    expect(published.isError).toBeFalsy();
    expect(textOf(published)).toBe('Published tools_list_changed to every node.');
    await operator.client.close();
  });

  it('follows a key rotation at the issuer without a restart, and drops the retired key', async () => {
    const before = await token(k1, { sub: 'rot', scope: 'mcp', iss: issuer.url });
    expect((await post(`Bearer ${before}`, initialize)).status).toBe(200);
    const k2 = await issuer.newKey('k2');
    issuer.publish(k2); // k1 retired, k2 signs from now on
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // OAUTH_JWKS_REFRESH_SECONDS=1
    const fetchesBefore = issuer.jwksFetches();
    const after = await token(k2, { sub: 'rot', scope: 'mcp', iss: issuer.url });
    expect((await post(`Bearer ${after}`, initialize)).status).toBe(200);
    expect(issuer.jwksFetches()).toBe(fetchesBefore + 1); // the unknown kid triggered one refetch
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await post(`Bearer ${before}`, initialize)).status).toBe(401);
  });
});

describe('AUTH_MODE=oauth with the issuer unreachable', () => {
  it('answers 503 with Retry-After, not 401: the token may be fine', async () => {
    const node = await startAppNode({
      env: {
        AUTH_MODE: 'oauth',
        OAUTH_ISSUER: 'http://127.0.0.1:9',
        OAUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
        OAUTH_AUDIENCE: AUDIENCE,
      },
    });
    const response = await fetch(new URL('/mcp', node.url), {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, authorization: 'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln' },
      body: '{}',
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toMatchObject({ error: { data: { reason: 'auth_server_unavailable' } } });
    await node.stop();
  });
});
