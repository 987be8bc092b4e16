import { beforeAll, expect, it } from 'vitest';
import { kubernetesObjects } from './eks-suite.js';
import { userSettings } from './expectations.js';
import { type ProgramRun, readStackConfig, runProgram } from './harness.js';
import { schemaProblems, UNMODELLED_KINDS } from './k8s-schema.js';

/**
 * Staging on EKS Auto Mode, with a prometheus-operator PodMonitor: the custom resources these add are
 * valid against their upstream schemas, and Auto Mode's nodes are the program's own.
 */
let run: ProgramRun;
beforeAll(async () => {
  const settings = userSettings('staging', 'eks') as { eks: Record<string, unknown> };
  run = await runProgram('staging', {
    ...settings,
    eks: { ...settings.eks, compute: 'auto' },
    metrics: { ...(readStackConfig('staging').metrics as object), podMonitor: true },
  });
});

it('validates the NodePool, the PodMonitor and every other object against their schemas (the NodeClass has none)', async () => {
  const objects = kubernetesObjects(run);
  const kinds = objects.map((object) => `${object.inputs.apiVersion}/${object.inputs.kind}`);
  expect(kinds).toEqual(
    expect.arrayContaining([
      'karpenter.sh/v1/NodePool',
      'eks.amazonaws.com/v1/NodeClass',
      'monitoring.coreos.com/v1/PodMonitor',
      'v1/ConfigMap',
    ]),
  );
  const modelled = objects.filter(
    (object) => !UNMODELLED_KINDS.includes(`${object.inputs.apiVersion}/${object.inputs.kind}`),
  );
  expect(objects.length - modelled.length).toBe(1);
  expect(await schemaProblems(modelled.map((object) => object.inputs as never))).toEqual([]);
});

it('scrapes the app through a PodMonitor on its metrics port, never the traffic port', () => {
  const monitor = run.one('kubernetes:monitoring.coreos.com/v1:PodMonitor', 'app-podmonitor').inputs;
  expect(monitor.spec).toEqual({
    selector: { matchLabels: { 'app.kubernetes.io/name': 'app', 'app.kubernetes.io/part-of': 'mcp-fleet' } },
    podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
  });
  expect(run.ofType('kubernetes:monitoring.coreos.com/v1:PodMonitor').map((each) => each.name)).toEqual([
    'app-podmonitor',
  ]);
});

it('runs the servers on its own NodePool, whose nodes join with their own access entry, and lets Auto Mode make the NLB', () => {
  const cluster = run.one('aws:eks/cluster:Cluster', 'mcp-fleet-cluster').inputs;
  expect(cluster.computeConfig.nodePools).toEqual(['system']);
  const nodeClass = run.one('kubernetes:eks.amazonaws.com/v1:NodeClass', 'mcp-fleet-node-class').inputs;
  const role = run.one('aws:iam/role:Role', 'mcp-fleet-pool-node-role');
  expect(nodeClass.spec.role).toBe(role.state.name);
  const entry = run.one('aws:eks/accessEntry:AccessEntry', 'mcp-fleet-pool-nodes').inputs;
  expect(entry).toMatchObject({ principalArn: role.state.arn, type: 'EC2' });
  expect(
    run.one('aws:eks/accessPolicyAssociation:AccessPolicyAssociation', 'mcp-fleet-pool-nodes').inputs
      .policyArn,
  ).toBe('arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy');
  const pool = run.one('kubernetes:karpenter.sh/v1:NodePool', 'mcp-fleet-node-pool').inputs;
  expect(pool.spec.template.spec.nodeClassRef).toEqual({
    group: 'eks.amazonaws.com',
    kind: 'NodeClass',
    name: 'mcp-fleet',
  });
  expect(pool.spec.disruption.consolidationPolicy).toBe('WhenEmpty');
  // Auto Mode runs its own load balancer controller, autoscaling and Pod Identity agent.
  expect(
    run
      .ofType('kubernetes:helm.sh/v3:Release')
      .map((release) => release.inputs.name)
      .sort(),
  ).toEqual(['cert-manager', 'nginx-ingress']);
  expect(
    run.one('kubernetes:core/v1:Service', 'mcp-fleet-ingress-service').inputs.spec.loadBalancerClass,
  ).toBe('eks.amazonaws.com/nlb');
});
