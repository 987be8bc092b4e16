import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

/**
 * Starts the pack exactly as Pulumi's Node.js language host does for `--policy-pack policy`
 * (`node @pulumi/pulumi/cmd/run-policy-pack <engine> <pack dir>`, working directory = the pack, with
 * the runner's own ts-node registration), then plays the engine over the Analyzer gRPC protocol.
 * This proves the ESM TypeScript pack loads under the real runner, not only under vitest.
 */

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: generated CommonJS gRPC stubs without ESM types.
type Any = any;
const grpc: Any = require('@grpc/grpc-js');
const analyzerRpc: Any = require('@pulumi/pulumi/proto/analyzer_grpc_pb.js');
const analyzer: Any = require('@pulumi/pulumi/proto/analyzer_pb.js');
const { Struct }: Any = require('google-protobuf/google/protobuf/struct_pb.js');
const { Empty }: Any = require('google-protobuf/google/protobuf/empty_pb.js');

const PACK_DIR = fileURLToPath(new URL('../../policy', import.meta.url));
/** The sentinel the engine sends for a value not known until the update (a preview). */
const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
const MANDATORY = 1;
const ADVISORY = 0;

let pack: ChildProcess;
let client: Any;
let stderr = '';

beforeAll(async () => {
  pack = spawn(
    process.execPath,
    [require.resolve('@pulumi/pulumi/cmd/run-policy-pack'), '127.0.0.1:1', '.'],
    {
      cwd: PACK_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  pack.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    pack.stdout?.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    pack.once('exit', (code) => reject(new Error(`the policy pack exited with ${code}:\n${stderr}`)));
  });
  expect(port).toBeGreaterThan(0);
  client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 60_000);

afterAll(() => {
  client?.close();
  pack?.kill('SIGTERM');
});

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (error: Error | null, response: T) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

function analyzeRequest(type: string, name: string, stack: string, props: Record<string, unknown>): Any {
  return new analyzer.AnalyzeRequest()
    .setType(type)
    .setName(name)
    .setUrn(`urn:pulumi:${stack}::mcp-fleet::${type}::${name}`)
    .setOptions(new analyzer.AnalyzerResourceOptions())
    .setProperties(Struct.fromJavaScript(props));
}

const diagnostics = (response: Any) =>
  response.getDiagnosticsList().map((d: Any) => ({
    policy: d.getPolicyname(),
    level: d.getEnforcementlevel(),
    message: d.getMessage(),
  }));

it('announces every policy of the checklist, all mandatory', async () => {
  const info: Any = await call('getAnalyzerInfo', new Empty());
  expect(info.getName()).toBe('mcp-fleet');
  const policies = info.getPoliciesList().map((p: Any) => [p.getName(), p.getEnforcementlevel()]);
  expect(policies.map(([name]: [string]) => name).sort()).toEqual([
    'alb-idle-timeout-for-sse',
    'containers-have-limits',
    'containers-non-root',
    'ingress-read-timeout-for-sse',
    'log-retention-set',
    'no-plaintext-secrets',
    'production-min-replicas',
    'redis-encrypted',
    'redis-not-open-to-world',
  ]);
  expect(policies.every(([, level]: [string, number]) => level === MANDATORY)).toBe(true);
});

it('blocks an ALB with the default idle timeout, and passes one at 3600 s', async () => {
  const alb = 'aws:lb/loadBalancer:LoadBalancer';
  const bad = await call(
    'analyze',
    analyzeRequest(alb, 'edge', 'staging', { loadBalancerType: 'application' }),
  );
  expect(diagnostics(bad)).toEqual([
    {
      policy: 'alb-idle-timeout-for-sse',
      level: MANDATORY,
      message: expect.stringContaining(
        'load balancer edge: idleTimeout is 60 s (the default); SSE streams need at least 3600 s',
      ),
    },
  ]);
  const good = await call('analyze', analyzeRequest(alb, 'edge', 'staging', { idleTimeout: 3600 }));
  expect(diagnostics(good)).toEqual([]);
});

it('reads production from the URN and the floor from the pack config defaults', async () => {
  const target = { serviceNamespace: 'ecs', minCapacity: 1, maxCapacity: 4 };
  const type = 'aws:appautoscaling/target:Target';
  expect(diagnostics(await call('analyze', analyzeRequest(type, 'app-scaling', 'staging', target)))).toEqual(
    [],
  );
  expect(
    diagnostics(await call('analyze', analyzeRequest(type, 'app-scaling', 'production', target))),
  ).toEqual([expect.objectContaining({ policy: 'production-min-replicas', level: MANDATORY })]);
});

it('turns a check that needs a value unknown during preview into an advisory note', async () => {
  const task = await call(
    'analyze',
    analyzeRequest('aws:ecs/taskDefinition:TaskDefinition', 'app-task', 'staging', {
      cpu: '512',
      memory: '1024',
      containerDefinitions: UNKNOWN,
    }),
  );
  const levels = diagnostics(task).map((d: { policy: string; level: number }) => [d.policy, d.level]);
  expect(levels).toEqual(
    expect.arrayContaining([
      ['containers-non-root', ADVISORY],
      ['no-plaintext-secrets', ADVISORY],
    ]),
  );
  expect(diagnostics(task).every((d: { message: string }) => d.message.includes("can't run policy"))).toBe(
    true,
  );
});

it('follows property dependencies to the Redis security group when ids are not known yet', async () => {
  const urn = (type: string, name: string) => `urn:pulumi:production::mcp-fleet::${type}::${name}`;
  const sg = urn('aws:ec2/securityGroup:SecurityGroup', 'redis-sg');
  const resource = (
    type: string,
    name: string,
    props: Record<string, unknown>,
    deps: Record<string, string[]>,
  ) => {
    const r = new analyzer.AnalyzerResource()
      .setType(type)
      .setName(name)
      .setUrn(urn(type, name))
      .setOptions(new analyzer.AnalyzerResourceOptions())
      .setProperties(Struct.fromJavaScript(props));
    for (const [property, urns] of Object.entries(deps)) {
      r.getPropertydependenciesMap().set(
        property,
        new analyzer.AnalyzerPropertyDependencies().setUrnsList(urns),
      );
    }
    return r;
  };
  const request = new analyzer.AnalyzeStackRequest().setResourcesList([
    resource('aws:ec2/securityGroup:SecurityGroup', 'redis-sg', { vpcId: UNKNOWN }, {}),
    resource(
      'aws:elasticache/replicationGroup:ReplicationGroup',
      'redis',
      { securityGroupIds: [UNKNOWN], transitEncryptionEnabled: true, atRestEncryptionEnabled: true },
      { securityGroupIds: [sg] },
    ),
    resource(
      'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
      'redis-open',
      { securityGroupId: UNKNOWN, cidrIpv4: '0.0.0.0/0', fromPort: 6379, toPort: 6379, ipProtocol: 'tcp' },
      { securityGroupId: [sg] },
    ),
  ]);
  const response: Any = await call('analyzeStack', request);
  expect(diagnostics(response)).toEqual([
    {
      policy: 'redis-not-open-to-world',
      level: MANDATORY,
      message: expect.stringContaining('rule redis-open admits the whole internet'),
    },
  ]);
});
