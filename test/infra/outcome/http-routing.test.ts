import { describe, expect, it } from 'vitest';
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
