import { describe, expect, it } from 'vitest';
import { type PublicServer, parseConfig } from '../../../infra/config.js';
import { ingressSpec } from '../../../infra/k8s/ingress.js';
import { graphOf, resource } from './fixtures.js';
import { T } from './graph.js';
import { albDecision, ingressBackend } from './http-routing.js';

const listener = resource(T.listener, 'https', {
  defaultActions: [{ type: 'fixed-response', fixedResponse: { statusCode: '404' } }],
});
const targetGroup = resource(T.targetGroup, 'app-tg');
const rule = (name: string, priority: number, conditions: unknown[], action: unknown) =>
  resource(T.listenerRule, name, {
    listenerArn: listener.state.arn,
    priority,
    conditions,
    actions: [action],
  });
const forward = { type: 'forward', targetGroupArn: targetGroup.state.arn };

describe('ALB listener rules', () => {
  const graph = graphOf(
    listener,
    targetGroup,
    rule(
      'app',
      10,
      [{ pathPattern: { values: ['/*'] } }, { hostHeader: { values: ['mcp.example.com'] } }],
      forward,
    ),
    rule('private', 1, [{ pathPattern: { values: ['/metrics', '/metrics/*'] } }], {
      type: 'fixed-response',
      fixedResponse: { statusCode: '404' },
    }),
  );

  it('takes the lowest priority that matches, whatever the registration order', () => {
    const decision = albDecision(graph, listener, { host: 'mcp.example.com', path: '/metrics' });
    expect(decision).toMatchObject({ kind: 'fixed-response', status: '404' });
    expect(albDecision(graph, listener, { host: 'MCP.example.com', path: '/mcp' })).toMatchObject({
      kind: 'forward',
      targetGroup,
    });
  });

  it('matches paths case-sensitively and falls back to the default action', () => {
    expect(albDecision(graph, listener, { host: 'mcp.example.com', path: '/Metrics' })).toMatchObject({
      kind: 'forward',
    });
    expect(albDecision(graph, listener, { host: 'other.example.com', path: '/mcp' })).toMatchObject({
      kind: 'fixed-response',
      by: expect.stringContaining('default'),
    });
  });
});

describe('Ingress paths', () => {
  const ingress = (
    name: string,
    host: string | undefined,
    path: string,
    service: string,
    pathType = 'Prefix',
  ) =>
    resource(T.ingress, name, {
      metadata: { name, namespace: 'ns' },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host,
            http: {
              paths: [{ path, pathType, backend: { service: { name: service, port: { name: 'http' } } } }],
            },
          },
        ],
      },
    });
  const graph = graphOf(
    ingress('root', 'mcp.example.com', '/', 'app'),
    ingress('team', 'mcp.example.com', '/team', 'team'),
    ingress('metrics', 'mcp.example.com', '/metrics', 'x'),
  );

  it('matches Prefix paths segment by segment and prefers the longest', () => {
    expect(ingressBackend(graph, 'nginx', { host: 'mcp.example.com', path: '/team/mcp' })?.service).toBe(
      'team',
    );
    expect(ingressBackend(graph, 'nginx', { host: 'mcp.example.com', path: '/teamwork' })?.service).toBe(
      'app',
    );
    expect(ingressBackend(graph, 'nginx', { host: 'mcp.example.com', path: '/metrics' })?.service).toBe('x');
    expect(ingressBackend(graph, 'nginx', { host: 'elsewhere.example.com', path: '/mcp' })).toBeUndefined();
  });

  it('ignores Ingresses of another class', () => {
    const other = graphOf({
      ...ingress('o', undefined, '/', 'y'),
      inputs: {
        ...ingress('o', undefined, '/', 'y').inputs,
        spec: { ...ingress('o', undefined, '/', 'y').inputs.spec, ingressClassName: 'alb' },
      },
    });
    expect(ingressBackend(other, 'nginx', { host: 'a', path: '/' })).toBeUndefined();
  });
});

describe('Ingress paths of a server under a prefix, on ingress-nginx', () => {
  const server = parseConfig({
    platform: 'eks',
    eks: { endpoint: { publicAccess: false } },
    ingress: { controller: 'ingress-nginx' },
    servers: { app: { build: 'app', ingress: { host: 'mcp.example.com', path: '/team-a' } } },
  }).servers.app as PublicServer;
  const spec = ingressSpec({
    name: 'app',
    namespace: 'mcp-app',
    labels: {},
    server,
    controller: 'ingress-nginx',
    tls: false,
  });
  const graph = graphOf(resource(T.ingress, 'app-ingress', spec));
  const at = (path: string) => ingressBackend(graph, 'ingress-nginx', { host: 'mcp.example.com', path });

  it('routes each client path and strips the prefix, so the app sees its own routes', () => {
    expect(at('/team-a/mcp')).toMatchObject({ service: 'app', path: '/mcp' });
    expect(at('/team-a/messages')).toMatchObject({ path: '/messages' });
    expect(at('/team-a/servers/everything/mcp')).toMatchObject({ path: '/servers/everything/mcp' });
    expect(at('/team-a/.well-known/oauth-protected-resource/mcp')).toMatchObject({
      path: '/.well-known/oauth-protected-resource/mcp',
    });
  });

  it('routes nothing else: the operations routes and look-alikes get nginx 404', () => {
    for (const path of [
      '/team-a/health',
      '/team-a/ready',
      '/team-a/metrics',
      '/team-a/mcpx',
      '/team-a',
      '/mcp',
    ]) {
      expect(at(path), path).toBeUndefined();
    }
  });
});
