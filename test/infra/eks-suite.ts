import { beforeAll, describe, expect, it } from 'vitest';
import { SECRETS_REVISION_ANNOTATION } from '../../infra/k8s/workload.js';
import { nameFor } from '../../infra/shared/names.js';
import {
  assertSecretsOnlyWhereAllowed,
  createdAfter,
  EKS_ACCESS,
  expectedFor,
  NLB_DNS,
} from './expectations.js';
import { type ProgramRun, promiseOf, type Recorded, type Stack } from './harness.js';
import { schemaProblems, UNMODELLED_KINDS } from './k8s-schema.js';

const T = {
  cluster: 'aws:eks/cluster:Cluster',
  nodeGroup: 'aws:eks/nodeGroup:NodeGroup',
  addon: 'aws:eks/addon:Addon',
  accessEntry: 'aws:eks/accessEntry:AccessEntry',
  accessPolicy: 'aws:eks/accessPolicyAssociation:AccessPolicyAssociation',
  kmsKey: 'aws:kms/key:Key',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  provider: 'pulumi:providers:kubernetes',
  release: 'kubernetes:helm.sh/v3:Release',
  deployment: 'kubernetes:apps/v1:Deployment',
  hpa: 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler',
  pdb: 'kubernetes:policy/v1:PodDisruptionBudget',
  ingress: 'kubernetes:networking.k8s.io/v1:Ingress',
  networkPolicy: 'kubernetes:networking.k8s.io/v1:NetworkPolicy',
  secret: 'kubernetes:core/v1:Secret',
  service: 'kubernetes:core/v1:Service',
} as const;

interface EgressRule {
  ports: { protocol: string; port: number }[];
}

/** Every Kubernetes object the program applies (not the Helm release, provider or reads). */
export function kubernetesObjects(run: ProgramRun): Recorded[] {
  return run.resources.filter(
    (resource) =>
      resource.type.startsWith('kubernetes:') &&
      resource.type !== T.release &&
      resource.inputs.kind !== undefined,
  );
}

/** The EKS behaviour users rely on, for one stack's real config and one ingress controller. */
export function describeEks(
  stack: Stack,
  controller: 'f5-nginx' | 'ingress-nginx',
  program: () => ProgramRun,
): void {
  const want = expectedFor(stack, 'eks');
  describe(`EKS on ${stack} with ${controller}`, () => {
    let run: ProgramRun;
    // biome-ignore lint/suspicious/noExplicitAny: a Deployment's pod spec, read field by field below.
    const pod = (server: string): any =>
      run.one(T.deployment, `${server}-deployment`).inputs.spec.template.spec;
    const container = (server: string) => pod(server).containers[0];
    beforeAll(() => {
      run = program();
    });

    it('validates every Kubernetes object against the upstream schema, unknown fields included', async () => {
      const objects = kubernetesObjects(run);
      expect(objects.length).toBeGreaterThanOrEqual(15);
      expect(new Set(objects.map((object) => object.inputs.kind))).toEqual(
        new Set([
          'Namespace',
          'ServiceAccount',
          'Secret',
          'Deployment',
          'Service',
          'HorizontalPodAutoscaler',
          'PodDisruptionBudget',
          'Ingress',
          'NetworkPolicy',
          // cert-manager's, for the certificate nginx serves (the stack has a domain).
          ...(want.https ? ['ClusterIssuer', 'Certificate'] : []),
        ]),
      );
      const modelled = objects.filter(
        (object) => !UNMODELLED_KINDS.includes(`${object.inputs.apiVersion}/${object.inputs.kind}`),
      );
      expect(modelled).toHaveLength(objects.length);
      expect(await schemaProblems(modelled.map((object) => object.inputs as never))).toEqual([]);
    });

    it('catches a misspelt field (the validator itself works)', async () => {
      const deployment = structuredClone(run.one(T.deployment, 'app-deployment').inputs);
      deployment.spec.template.spec.containers[0].readinesProbe =
        deployment.spec.template.spec.containers[0].readinessProbe;
      expect(await schemaProblems([deployment as never])).toEqual([
        'Deployment.spec.template.spec.containers[0].readinesProbe is not a field of the schema',
      ]);
    });

    it('creates the cluster with API auth, every control-plane log, KMS-encrypted Secrets and a restricted endpoint', () => {
      const cluster = run.one(T.cluster, 'mcp-fleet-cluster').inputs;
      expect(cluster.accessConfig).toEqual({
        authenticationMode: 'API',
        bootstrapClusterCreatorAdminPermissions: false,
      });
      expect(cluster.enabledClusterLogTypes).toEqual([
        'api',
        'audit',
        'authenticator',
        'controllerManager',
        'scheduler',
      ]);
      expect(cluster.encryptionConfig).toEqual({
        provider: { keyArn: expect.stringContaining('secrets-key') },
        resources: ['secrets'],
      });
      expect(run.one(T.kmsKey, 'mcp-fleet-secrets-key').inputs.enableKeyRotation).toBe(true);
      expect(cluster.vpcConfig).toMatchObject({
        endpointPrivateAccess: true,
        endpointPublicAccess: true,
        publicAccessCidrs: EKS_ACCESS.publicAccessCidrs,
      });
      expect(cluster.deletionProtection).toBe(want.deletionProtection);
      expect(run.one(T.logGroup, 'mcp-fleet-control-plane').inputs).toMatchObject({
        name: `/aws/eks/mcp-fleet-${stack}/cluster`,
        retentionInDays: want.logRetentionDays,
      });
    });

    it('grants admins and CI cluster admin, the preview role read access, through access entries named by principal', () => {
      const policies = Object.fromEntries(
        run
          .ofType(T.accessPolicy)
          .map((association) => [
            association.inputs.principalArn,
            association.inputs.policyArn.split('/').pop(),
          ]),
      );
      expect(policies).toEqual({
        ...Object.fromEntries(
          [...EKS_ACCESS.ciRoleArns, ...EKS_ACCESS.adminRoleArns].map((arn) => [
            arn,
            'AmazonEKSClusterAdminPolicy',
          ]),
        ),
        ...Object.fromEntries(EKS_ACCESS.previewRoleArns.map((arn) => [arn, 'AmazonEKSAdminViewPolicy'])),
      });
      const entries = run.ofType(T.accessEntry);
      expect(entries).toHaveLength(3);
      for (const entry of entries) {
        expect(entry.name).toBe(`mcp-fleet-access-${nameFor(entry.inputs.principalArn)}`);
      }
    });

    it('runs an AL2023 managed node group in the private subnets', () => {
      const nodes = run.one(T.nodeGroup, 'mcp-fleet-nodes').inputs;
      expect(nodes.amiType).toBe('AL2023_x86_64_STANDARD');
      expect(nodes.subnetIds).toHaveLength(want.azCount);
      expect(nodes.subnetIds.every((id: string) => id.includes('private'))).toBe(true);
    });

    it('installs the managed addons, metrics-server included, with NetworkPolicy enforcement on', () => {
      const addons = run.ofType(T.addon).map((addon) => addon.inputs.addonName);
      expect(addons.sort()).toEqual([
        'coredns',
        'eks-pod-identity-agent',
        'kube-proxy',
        'metrics-server',
        'vpc-cni',
      ]);
      expect(JSON.parse(run.one(T.addon, 'mcp-fleet-vpc-cni').inputs.configurationValues)).toEqual({
        enableNetworkPolicy: 'true',
      });
    });

    it('uses one deterministic kubeconfig (aws eks get-token) for one provider that every object uses', async () => {
      const providers = run.ofType(T.provider);
      expect(providers).toHaveLength(1);
      const config = JSON.parse(providers[0]?.inputs.kubeconfig);
      expect(config.users[0].user.exec).toMatchObject({
        command: 'aws',
        args: expect.arrayContaining(['eks', 'get-token']),
      });
      expect(JSON.stringify(config)).not.toMatch(/profile|AWS_|\/home\/|\/Users\//);
      expect(await promiseOf(run.outputs.kubeconfig)).toBe(providers[0]?.inputs.kubeconfig);
    });

    it(`installs ${controller}, the load balancer controller and the Cluster Autoscaler from pinned charts`, () => {
      const release = run.one(T.release, 'mcp-fleet-ingress-release').inputs;
      if (controller === 'f5-nginx') expect(release.chart).toBe('oci://ghcr.io/nginx/charts/nginx-ingress');
      else expect(release.repositoryOpts).toEqual({ repo: 'https://kubernetes.github.io/ingress-nginx' });
      const charts = Object.fromEntries(
        run.ofType(T.release).map((each) => [each.inputs.chart.split('/').pop(), each.inputs.version]),
      );
      expect(Object.keys(charts).sort()).toEqual(
        [
          controller === 'f5-nginx' ? 'nginx-ingress' : 'ingress-nginx',
          'aws-load-balancer-controller',
          'cluster-autoscaler',
          ...(want.https ? ['cert-manager'] : []),
        ].sort(),
      );
      for (const version of Object.values(charts)) expect(version).toMatch(/^v?\d+\.\d+\.\d+$/);
      // The NLB: no certificate on it (TLS ends in nginx), TCP listeners with a raised idle timeout.
      const edge = run.one(T.service, 'mcp-fleet-ingress-service').inputs;
      expect(edge.spec).toMatchObject({ type: 'LoadBalancer', loadBalancerClass: 'service.k8s.aws/nlb' });
      expect(
        edge.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert'],
      ).toBeUndefined();
      expect(
        edge.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-80'],
      ).toBe('tcp.idle_timeout.seconds=3600');
      expect(run.ofType('aws:acm/certificate:Certificate')).toEqual([]);
    });

    it(`gives SSE ingresses the ${controller} streaming annotations`, () => {
      const annotations = run.one(T.ingress, 'app-ingress').inputs.metadata.annotations;
      expect(annotations).toEqual(
        controller === 'f5-nginx'
          ? {
              'mcp-fleet/sse': 'true',
              'nginx.org/proxy-buffering': 'false',
              'nginx.org/proxy-read-timeout': '3600s',
              'nginx.org/proxy-send-timeout': '3600s',
              'nginx.org/client-max-body-size': '4m',
            }
          : {
              'mcp-fleet/sse': 'true',
              'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
              'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
              'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
              'nginx.ingress.kubernetes.io/proxy-http-version': '1.1',
              'nginx.ingress.kubernetes.io/proxy-body-size': '4m',
            },
      );
      const rule = run.one(T.ingress, 'app-ingress').inputs.spec.rules[0];
      expect(rule.host).toBe(want.hosts?.app);
    });

    it('names every server under the domain: CNAMEs to the ingress NLB', () => {
      for (const [server, host] of Object.entries(want.hosts ?? {})) {
        expect(run.one('aws:route53/record:Record', `${server}-dns`).inputs).toMatchObject({
          zoneId: 'Z0MOCKZONE',
          name: host,
          type: 'CNAME',
          records: [NLB_DNS],
        });
      }
      expect(want.hosts).toBeDefined();
    });

    it("routes only the app's client paths; the third-party server gets no Ingress and a headless Service", () => {
      const paths = run.one(T.ingress, 'app-ingress').inputs.spec.rules[0].http.paths;
      expect(
        paths.map((path: { path: string; pathType: string }) => `${path.pathType} ${path.path}`),
      ).toEqual(['Exact /mcp', 'Exact /sse', 'Exact /messages', 'Prefix /.well-known', 'Prefix /servers']);
      expect(run.ofType(T.ingress).map((ingress) => ingress.name)).toEqual(['app-ingress']);
      const service = run.one(T.service, 'everything-service').inputs;
      expect(service.metadata.namespace).toBe('mcp-everything');
      expect(service.spec).toMatchObject({
        clusterIP: 'None',
        ports: [{ name: 'http', port: 3001, targetPort: 'http' }],
      });
      expect(run.one(T.service, 'app-service').inputs.spec.clusterIP).toBeUndefined();
      const env = Object.fromEntries(
        (container('app').env as { name: string; value?: string }[]).map((v) => [v.name, v.value]),
      );
      expect(JSON.parse(env.UPSTREAMS as string)).toEqual({
        everything: { dns: 'everything.mcp-everything.svc.cluster.local', port: 3001 },
      });
      expect(env.UPSTREAM_DNS_SERVERS).toBeUndefined();
    });

    it('rolls the pods when a secret value changes, and starts them after their Secret exists', () => {
      const deployment = run.one(T.deployment, 'app-deployment');
      const annotations = deployment.inputs.spec.template.metadata.annotations;
      expect(annotations[SECRETS_REVISION_ANNOTATION]).toMatch(/^[0-9a-f]{32}$/);
      expect(createdAfter(deployment)).toContain(`${T.secret}::app-secret`);
      expect(createdAfter(run.one(T.secret, 'app-secret'))).toEqual(
        expect.arrayContaining([
          'aws:secretsmanager/secretVersion:SecretVersion::mcp-fleet-redis-secret',
          'aws:secretsmanager/secretVersion:SecretVersion::mcp-fleet-app',
        ]),
      );
      // A server with no secrets has nothing to roll on.
      expect(
        run.one(T.deployment, 'everything-deployment').inputs.spec.template.metadata.annotations,
      ).toBeUndefined();
    });

    it('probes liveness on /live (no Redis dependency), readiness on /ready, and gives startup its own probe', () => {
      const app = container('app');
      expect(app.livenessProbe.httpGet).toEqual({ path: '/live', port: 'http' });
      expect(app.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(app.startupProbe).toMatchObject({
        httpGet: { path: '/live', port: 'http' },
        failureThreshold: 30,
      });
      expect(container('everything').readinessProbe.tcpSocket).toEqual({ port: 'http' });
    });

    it('sets requests and limits from the config', () => {
      const { cpu, memory } = want.appResources;
      expect(container('app').resources).toEqual({
        requests: { cpu: `${Math.round((cpu * 1000) / 1024)}m`, memory: `${memory}Mi` },
        limits: { cpu: `${Math.round((cpu * 2000) / 1024)}m`, memory: `${memory}Mi` },
      });
    });

    it('runs as non-root on a read-only root filesystem with every capability dropped', () => {
      expect(pod('app').securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container('app').securityContext).toEqual({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    });

    it('drains safely: preStop sleep, then a grace period longer than the app drain', () => {
      const spec = pod('app');
      const sleep = container('app').lifecycle.preStop.sleep.seconds;
      expect(sleep).toBeGreaterThan(0);
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(sleep + 25);
      expect(container('app').env).toContainEqual({ name: 'SHUTDOWN_GRACE_SECONDS', value: '25' });
    });

    it('spreads replicas across zones', () => {
      expect(pod('app').topologySpreadConstraints[0]).toMatchObject({
        topologyKey: 'topology.kubernetes.io/zone',
        maxSkew: 1,
      });
    });

    it('autoscales the app with an autoscaling/v2 HPA on CPU between min and max', () => {
      const hpa = run.one(T.hpa, 'app-hpa').inputs;
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec).toMatchObject({
        minReplicas: want.appScaling.min,
        maxReplicas: want.appScaling.max,
        scaleTargetRef: { kind: 'Deployment', name: 'app' },
      });
      expect(hpa.spec.metrics[0].resource.target).toEqual({
        type: 'Utilization',
        averageUtilization: want.appScaling.cpuTarget,
      });
      // The HPA owns the replica count; a fixed-size server keeps its configured replicas.
      expect(run.one(T.deployment, 'app-deployment').inputs.spec.replicas).toBeUndefined();
      const everything = run.one(T.deployment, 'everything-deployment').inputs.spec.replicas;
      if (want.everythingScaling) {
        expect(everything).toBeUndefined();
        expect(run.one(T.hpa, 'everything-hpa').inputs.spec).toMatchObject({
          minReplicas: want.everythingScaling.min,
          maxReplicas: want.everythingScaling.max,
        });
      } else {
        expect(everything).toBe(want.everythingReplicas);
      }
    });

    it('keeps a disruption budget for every server', () => {
      for (const server of want.servers) {
        expect(run.one(T.pdb, `${server}-pdb`).inputs.spec).toMatchObject({ maxUnavailable: 1 });
      }
    });

    it('admits the controller namespace to the app port and the monitoring namespace to METRICS_PORT, and lets out only DNS, the upstream, Redis and HTTPS', () => {
      const spec = run.one(T.networkPolicy, 'app-netpol').inputs.spec;
      expect(spec.ingress).toEqual([
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } }],
          ports: [{ protocol: 'TCP', port: 3000 }],
        },
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
          ports: [{ protocol: 'TCP', port: 9464 }],
        },
      ]);
      expect(container('app').env).toContainEqual({ name: 'METRICS_PORT', value: '9464' });
      expect(container('app').ports).toContainEqual({
        name: 'metrics',
        containerPort: 9464,
        protocol: 'TCP',
      });
      expect(run.one(T.deployment, 'app-deployment').inputs.spec.template.metadata.annotations).toMatchObject(
        {
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': '9464',
        },
      );
      const egressPorts = spec.egress.flatMap((rule: EgressRule) =>
        rule.ports.map((port: EgressRule['ports'][number]) => `${port.protocol}/${port.port}`),
      );
      expect(egressPorts.sort()).toEqual(['TCP/3001', 'TCP/443', 'TCP/53', 'TCP/6379', 'UDP/53']);
      const everything = run.one(T.networkPolicy, 'everything-netpol').inputs.spec;
      const everythingPorts = everything.egress.flatMap((rule: EgressRule) =>
        rule.ports.map((port: EgressRule['ports'][number]) => port.port),
      );
      expect(everythingPorts).not.toContain(6379);
      // Behind the gateway: the app's pods only, on its port.
      expect(everything.ingress).toEqual([
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mcp-app' } },
              podSelector: {
                matchLabels: { 'app.kubernetes.io/name': 'app', 'app.kubernetes.io/part-of': 'mcp-fleet' },
              },
            },
          ],
          ports: [{ protocol: 'TCP', port: 3001 }],
        },
      ]);
    });

    it('reads secrets from a Kubernetes Secret by key, never as plain env values', () => {
      const env = container('app').env;
      for (const name of ['REDIS_URL', 'MCP_STATE_KEY', 'AUTH_API_KEYS']) {
        expect(env).toContainEqual({ name, valueFrom: { secretKeyRef: { name: 'app-secrets', key: name } } });
      }
      const secret = run.one(T.secret, 'app-secret');
      expect(Object.keys(secret.inputs.stringData).sort()).toEqual([
        'AUTH_API_KEYS',
        'MCP_STATE_KEY',
        'REDIS_URL',
      ]);
      assertSecretsOnlyWhereAllowed(run);
    });

    it("sets the app's authentication and public address as plain env values", () => {
      const env = container('app').env as { name: string; value?: string }[];
      const plain = Object.fromEntries(
        env.filter((variable) => variable.value !== undefined).map((v) => [v.name, v.value]),
      );
      expect(plain).toMatchObject({ ...want.appSecurityEnv, NODE_ENV: 'production' });
      expect(plain.AUTH_API_KEYS).toBeUndefined();
      const everything = container('everything').env.map((variable: { name: string }) => variable.name);
      for (const name of Object.keys(want.appSecurityEnv)) expect(everything).not.toContain(name);
    });

    it('admits only the cluster security group to Redis', () => {
      const toRedis = run
        .ofType(T.ingressRule)
        .filter((rule) => rule.inputs.securityGroupId === 'mcp-fleet-redis-sg-id');
      expect(toRedis.map((rule) => rule.inputs)).toEqual([
        expect.objectContaining({
          referencedSecurityGroupId: 'sg-cluster-mcp-fleet-cluster',
          fromPort: 6379,
          toPort: 6379,
        }),
      ]);
    });

    it('exports the kubeconfig as a secret, the ingress hostname and each server URL', async () => {
      expect(await run.outputs.kubeconfig.isSecret).toBe(true);
      expect(await promiseOf(run.outputs.ingressHostname)).toBe(NLB_DNS);
      expect(await promiseOf(run.outputs.serverUrls)).toEqual(want.urls);
      expect(await promiseOf(run.outputs.clusterName)).toBe(`mcp-fleet-${stack}`);
    });
  });
}
