import { describe, expect, it } from 'vitest';
import { resolveCloudMap, resolveClusterDns } from './discovery.js';
import { graphOf, resource } from './fixtures.js';
import { T } from './graph.js';

describe('Cloud Map names, asked from a task in the VPC', () => {
  const network = (dns: boolean) =>
    resource(T.vpc, 'vpc', { cidrBlock: '10.0.0.0/16', enableDnsSupport: dns, enableDnsHostnames: dns });
  const namespace = resource(T.privateDnsNamespace, 'ns', { name: 'mcp.internal', vpc: 'vpc-id' });
  const discovery = (routingPolicy: string) =>
    resource(T.discoveryService, 'gh-discovery', {
      name: 'gh',
      dnsConfig: { namespaceId: 'ns-id', dnsRecords: [{ type: 'A', ttl: 5 }], routingPolicy },
    });
  const tasks = resource(T.ecsService, 'gh-service', {
    serviceRegistries: { registryArn: `arn:test:${T.discoveryService}/gh-discovery` },
  });

  it('answers an A record per task, at most eight with MULTIVALUE and one with WEIGHTED', () => {
    const multivalue = resolveCloudMap(
      graphOf(network(true), namespace, discovery('MULTIVALUE'), tasks),
      'gh.mcp.internal',
      'vpc-id',
    );
    expect(multivalue).toMatchObject({ ok: true, workload: tasks, records: 'per-instance', maxRecords: 8 });
    const weighted = resolveCloudMap(
      graphOf(network(true), namespace, discovery('WEIGHTED'), tasks),
      'gh.mcp.internal',
      'vpc-id',
    );
    expect(weighted).toMatchObject({ ok: true, maxRecords: 1 });
  });

  it('answers nothing from a VPC without DNS support, for a name of no service, or for a service no tasks register in', () => {
    expect(
      resolveCloudMap(
        graphOf(network(false), namespace, discovery('MULTIVALUE'), tasks),
        'gh.mcp.internal',
        'vpc-id',
      ),
    ).toMatchObject({ ok: false });
    const graph = graphOf(network(true), namespace, discovery('MULTIVALUE'), tasks);
    expect(resolveCloudMap(graph, 'other.mcp.internal', 'vpc-id')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('NXDOMAIN'),
    });
    expect(resolveCloudMap(graph, 'gh.elsewhere.internal', 'vpc-id')).toMatchObject({ ok: false });
    expect(
      resolveCloudMap(
        graphOf(network(true), namespace, discovery('MULTIVALUE')),
        'gh.mcp.internal',
        'vpc-id',
      ),
    ).toMatchObject({
      ok: false,
      reason: expect.stringContaining('0 ECS services'),
    });
  });
});

describe('cluster DNS names', () => {
  const labels = { 'app.kubernetes.io/name': 'gh' };
  const deployment = resource(T.deployment, 'gh-deployment', {
    metadata: { name: 'gh', namespace: 'mcp-gh' },
    spec: { template: { metadata: { labels } } },
  });
  const service = (clusterIP?: string) =>
    resource(T.k8sService, 'gh-service', {
      metadata: { name: 'gh', namespace: 'mcp-gh' },
      spec: { ...(clusterIP ? { clusterIP } : {}), selector: labels },
    });

  it('answers a headless Service with a record per ready pod, any other with one virtual IP', () => {
    expect(
      resolveClusterDns(graphOf(service('None'), deployment), 'gh.mcp-gh.svc.cluster.local'),
    ).toMatchObject({
      ok: true,
      workload: deployment,
      records: 'per-instance',
      maxRecords: Number.POSITIVE_INFINITY,
    });
    expect(resolveClusterDns(graphOf(service(), deployment), 'gh.mcp-gh.svc.cluster.local')).toMatchObject({
      ok: true,
      records: 'virtual-ip',
      maxRecords: 1,
    });
  });

  it('answers NXDOMAIN for a Service in another namespace, and nothing for one that selects no pods', () => {
    expect(
      resolveClusterDns(graphOf(service('None'), deployment), 'gh.default.svc.cluster.local'),
    ).toMatchObject({
      ok: false,
      reason: expect.stringContaining('NXDOMAIN'),
    });
    expect(resolveClusterDns(graphOf(service('None')), 'gh.mcp-gh.svc.cluster.local')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('0 Deployments'),
    });
  });
});
