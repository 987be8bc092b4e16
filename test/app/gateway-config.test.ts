import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { spawnApp } from '../helpers/app-node.js';
import { configProblemsOf } from '../helpers/config-problems.js';

describe('UPSTREAMS: the gateway configuration', () => {
  it('reads fixed URLs, dns names with their defaults, and secret headers from the named variables', () => {
    const config = loadConfig({
      GH_AUTHORIZATION: 'Bearer ghp_secret',
      UPSTREAMS: JSON.stringify({
        github: {
          dns: 'github.mcp.internal',
          port: 8080,
          headersFromEnv: { Authorization: 'GH_AUTHORIZATION' },
        },
        everything: { urls: ['http://10.0.1.5:8080', 'http://10.0.1.6:8080/base'] },
      }),
      UPSTREAM_DNS_SERVERS: '10.0.0.2, 127.0.0.1:5353',
    });
    expect(config.gateway).toEqual({
      upstreams: [
        {
          name: 'github',
          source: {
            kind: 'dns',
            hostname: 'github.mcp.internal',
            port: 8080,
            scheme: 'http',
            basePath: '',
            refreshSeconds: 5,
          },
          secretHeaders: { authorization: 'Bearer ghp_secret' },
        },
        {
          name: 'everything',
          source: { kind: 'urls', urls: ['http://10.0.1.5:8080', 'http://10.0.1.6:8080/base'] },
          secretHeaders: {},
        },
      ],
      dnsServers: ['10.0.0.2', '127.0.0.1:5353'],
    });
    expect(loadConfig({}).gateway.upstreams).toEqual([]);
  });

  it.each([
    ['not JSON', '{github:', 'UPSTREAMS: expected JSON such as {"github"'],
    ['a list', '["github"]', 'UPSTREAMS: expected a JSON object of upstreams by name'],
    ['a bad name', '{"Git Hub": {"urls": ["http://h:1"]}}', 'UPSTREAMS.Git Hub: expected an upstream name'],
    ['neither urls nor dns', '{"github": {}}', 'UPSTREAMS.github: expected exactly one of "urls"'],
    [
      'both urls and dns',
      '{"github": {"urls": ["http://h:1"], "dns": "h.internal", "port": 1}}',
      'UPSTREAMS.github: expected exactly one of "urls"',
    ],
    [
      'dns without a port',
      '{"github": {"dns": "github.mcp.internal"}}',
      'UPSTREAMS.github.port: required with "dns"',
    ],
    [
      'a port too big',
      '{"github": {"dns": "g.internal", "port": 70000}}',
      'UPSTREAMS.github.port: expected a port',
    ],
    [
      'a non-http URL',
      '{"github": {"urls": ["ftp://h:21"]}}',
      'UPSTREAMS.github.urls.0: expected an http:// or https://',
    ],
    [
      'a URL with credentials',
      '{"github": {"urls": ["http://u:p@h:1"]}}',
      'UPSTREAMS.github.urls.0: expected an http:// or https://',
    ],
    [
      'a port with urls',
      '{"github": {"urls": ["http://h:1"], "port": 1}}',
      'UPSTREAMS.github.port: only used with "dns"',
    ],
    [
      'an unknown key',
      '{"github": {"urls": ["http://h:1"], "url": "x"}}',
      'UPSTREAMS.github: Unrecognized key',
    ],
    [
      'a reserved header',
      '{"github": {"urls": ["http://h:1"], "headersFromEnv": {"Host": "X"}}}',
      'UPSTREAMS.github.headersFromEnv.Host: expected a header the gateway does not set itself',
    ],
    [
      'an unset secret variable',
      '{"github": {"urls": ["http://h:1"], "headersFromEnv": {"Authorization": "GH_MISSING"}}}',
      'UPSTREAMS.github.headersFromEnv.Authorization: the environment variable GH_MISSING is not set',
    ],
  ])('stops the start on %s, naming the key and what was expected', (_what, upstreams, expected) => {
    expect(configProblemsOf({ UPSTREAMS: upstreams }).join('\n')).toContain(expected);
  });

  it('never shows a secret header value, even a malformed one', () => {
    const problems = configProblemsOf({
      GH_AUTHORIZATION: 'Bearer top-secret\r\nX-Injected: 1',
      UPSTREAMS:
        '{"github": {"urls": ["http://h:1"], "headersFromEnv": {"Authorization": "GH_AUTHORIZATION"}}}',
    }).join('\n');
    expect(problems).toContain('UPSTREAMS.github.headersFromEnv.Authorization');
    expect(problems).not.toContain('top-secret');
  });

  it('refuses a DNS server that is not an address', () => {
    expect(configProblemsOf({ UPSTREAM_DNS_SERVERS: 'dns.example.com' }).join('\n')).toContain(
      'UPSTREAM_DNS_SERVERS: expected comma-separated DNS server addresses',
    );
  });

  it('stops the process with exit code 78 and the key in the message', async () => {
    const { child, logs } = spawnApp({ UPSTREAMS: '{"github": {"dns": "github.mcp.internal"}}' });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(78);
    expect(logs.join('\n')).toContain('UPSTREAMS.github.port: required with \\"dns\\"');
  });
});
