import { describe, expect, it } from 'vitest';
import { bodyLimitBytes, controllerRoll, nginxSize, nlbOf } from './eks-edge.js';
import { graphOf, resource } from './fixtures.js';
import { T } from './graph.js';
import { allowing } from './iam.js';

const A = 'service.beta.kubernetes.io/aws-load-balancer-';
const lbc = resource(T.helmRelease, 'lbc', {
  chart: 'aws-load-balancer-controller',
  values: { enableServiceMutatorWebhook: false },
});
function edge(annotations: Record<string, string>, spec: Record<string, unknown> = {}) {
  return resource(T.k8sService, 'edge', {
    metadata: { name: 'edge', namespace: 'ingress', annotations },
    spec: {
      type: 'LoadBalancer',
      ports: [
        { port: 80, targetPort: 'http' },
        { port: 443, targetPort: 'https' },
      ],
      ...spec,
    },
  });
}

describe('the NLB a LoadBalancer Service gets', () => {
  it('belongs to the controller its class names, and to nobody when that controller is missing', () => {
    const classed = edge({}, { loadBalancerClass: 'service.k8s.aws/nlb' });
    expect(nlbOf(graphOf(classed, lbc), false)?.provisioner).toBe('aws-load-balancer-controller');
    expect(nlbOf(graphOf(classed), false)?.provisioner).toBe('nobody');
    expect(nlbOf(graphOf(edge({}, { loadBalancerClass: 'eks.amazonaws.com/nlb' })), true)?.provisioner).toBe(
      'eks-auto-mode',
    );
    // No class and no webhook to give it one: the in-tree controller, internet-facing by default.
    expect(nlbOf(graphOf(edge({})), false)).toMatchObject({ provisioner: 'in-tree', internetFacing: true });
  });

  it('is internal and targets instances unless the LBC is told otherwise', () => {
    const plain = nlbOf(graphOf(edge({}, { loadBalancerClass: 'service.k8s.aws/nlb' }), lbc), false);
    expect(plain).toMatchObject({ internetFacing: false, targetType: 'instance', clientIpPreserved: false });
    const told = nlbOf(
      graphOf(
        edge(
          {
            [`${A}scheme`]: 'internet-facing',
            [`${A}nlb-target-type`]: 'ip',
            [`${A}target-group-attributes`]: 'preserve_client_ip.enabled=true',
          },
          { loadBalancerClass: 'service.k8s.aws/nlb' },
        ),
        lbc,
      ),
      false,
    );
    expect(told).toMatchObject({ internetFacing: true, targetType: 'ip', clientIpPreserved: true });
  });

  it('keeps a TLS listener at 350 s whatever the annotations say; raises a TCP one only through the LBC', () => {
    const annotations = {
      [`${A}listener-attributes.TCP-80`]: 'tcp.idle_timeout.seconds=3600',
      [`${A}listener-attributes.TCP-443`]: 'tcp.idle_timeout.seconds=3600',
      [`${A}ssl-cert`]: 'arn:aws:acm:eu-west-1:1:certificate/x',
      [`${A}ssl-ports`]: '443',
    };
    const viaLbc = nlbOf(
      graphOf(edge(annotations, { loadBalancerClass: 'service.k8s.aws/nlb' }), lbc),
      false,
    );
    expect(viaLbc?.listeners.map((l) => [l.port, l.protocol, l.idleTimeoutSeconds])).toEqual([
      [80, 'TCP', 3600],
      [443, 'TLS', 350],
    ]);
    const viaAuto = nlbOf(graphOf(edge(annotations, { loadBalancerClass: 'eks.amazonaws.com/nlb' })), true);
    expect(viaAuto?.listeners[0]?.idleTimeoutSeconds).toBe(350);
  });
});

describe('nginx in front of the servers', () => {
  const f5 = (values: Record<string, unknown> = {}) =>
    resource(T.helmRelease, 'f5', {
      chart: 'oci://ghcr.io/nginx/charts/nginx-ingress',
      name: 'nginx-ingress',
      values,
    });
  const ingressNginx = (values: Record<string, unknown> = {}) =>
    resource(T.helmRelease, 'in', { chart: 'ingress-nginx', name: 'ingress-nginx', values });
  const ingress = (annotations: Record<string, string> = {}) =>
    resource(T.ingress, 'app', { metadata: { name: 'app', annotations } });

  it("passes bodies up to the annotation, else the ConfigMap entry, else nginx's 1m", () => {
    expect(nginxSize('4m')).toBe(4 * 1024 * 1024);
    expect(bodyLimitBytes(f5(), ingress())).toBe(1024 * 1024);
    expect(
      bodyLimitBytes(
        f5({ controller: { config: { entries: { 'client-max-body-size': '8m' } } } }),
        ingress(),
      ),
    ).toBe(8 * 1024 * 1024);
    expect(
      bodyLimitBytes(
        ingressNginx({ controller: { config: { 'proxy-body-size': '8m' } } }),
        ingress({ 'nginx.ingress.kubernetes.io/proxy-body-size': '2m' }),
      ),
    ).toBe(2 * 1024 * 1024);
    // Another controller's annotation changes nothing.
    expect(bodyLimitBytes(ingressNginx(), ingress({ 'nginx.org/client-max-body-size': '4m' }))).toBe(
      1024 * 1024,
    );
  });

  it("cuts a stream at SIGKILL after 30 s with F5's defaults, at worker_shutdown_timeout once it is set", () => {
    expect(controllerRoll(f5(), undefined)).toMatchObject({ cutBy: 'SIGKILL', streamCutAfterSeconds: 30 });
    const bounded = controllerRoll(
      f5({
        controller: {
          config: { entries: { 'worker-shutdown-timeout': '240s' } },
          terminationGracePeriodSeconds: 270,
          lifecycle: { preStop: { sleep: { seconds: 15 } } },
          resources: { limits: { memory: '1Gi' } },
        },
      }),
      undefined,
    );
    // The NLB's default deregistration delay (300 s) outlasts preStop + 240 s here.
    expect(bounded).toMatchObject({
      cutBy: 'nginx worker_shutdown_timeout',
      streamCutAfterSeconds: 255,
      memoryLimitMiB: 1024,
    });
  });
});

describe('IAM policy evaluation', () => {
  const policy = JSON.stringify({
    Statement: [
      { Effect: 'Allow', Action: 'route53:Change*', Resource: 'arn:aws:route53:::hostedzone/Z1' },
      { Effect: 'Deny', Action: '*', Resource: 'arn:aws:route53:::hostedzone/Z2' },
      { Effect: 'Allow', Action: 'route53:*', Resource: '*' },
    ],
  });

  it('matches actions and resources with wildcards, and lets an explicit Deny win', () => {
    expect(
      allowing(policy, 'route53:ChangeResourceRecordSets', 'arn:aws:route53:::hostedzone/Z1'),
    ).toHaveLength(2);
    expect(allowing(policy, 'ROUTE53:GetChange', 'arn:aws:route53:::change/C')).toHaveLength(1);
    expect(allowing(policy, 'route53:ChangeResourceRecordSets', 'arn:aws:route53:::hostedzone/Z2')).toEqual(
      [],
    );
    expect(allowing(policy, 'ec2:RunInstances', '*')).toEqual([]);
  });
});
