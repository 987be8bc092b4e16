import { afterEach, describe, expect, it } from 'vitest';
import { capacityProblemFor, platformPods } from '../../../infra/eks/capacity-check.js';
import { computeModeProblemFor } from '../../../infra/eks/compute-guard.js';
import { defaultAddonVersion, useCloud } from '../harness.js';
import { churn } from '../outcome/churn.js';
import { helmRelease } from '../outcome/eks-edge.js';
import { label, type ResourceGraph, T } from '../outcome/graph.js';
import { allowing } from '../outcome/iam.js';
import type { Captured, StackRuns } from './runs.js';

/** Nodes that follow the pods, upgrades that move everything, and who may reach the cluster. */

const ACCESS_POLICY = 'arn:aws:eks::aws:cluster-access-policy/';
/**
 * EKS access policies that read Secrets, where Helm keeps its releases ("Review access policy
 * permissions", EKS user guide: AmazonEKSViewPolicy excludes Secrets; AmazonEKSAdminViewPolicy
 * "includes … Secrets").
 */
const READS_SECRETS = ['AmazonEKSAdminViewPolicy', 'AmazonEKSAdminPolicy', 'AmazonEKSClusterAdminPolicy'];

const clusterName = (captured: Captured) => String(captured.graph.ofType(T.eksCluster)[0]?.inputs.name);

function policiesOfRole(graph: ResourceGraph, roleArn: string): string[] {
  const role = graph.byRef('aws:iam/role:Role', roleArn);
  return graph
    .ofType('aws:iam/rolePolicy:RolePolicy')
    .filter((policy) => policy.inputs.role === role?.id)
    .map((policy) => String(policy.inputs.policy));
}

function pods(captured: Captured) {
  return platformPods(captured.config, captured.config.domain !== undefined);
}

export function describeEksCluster(runs: () => StackRuns): void {
  describe('EKS cluster outcomes', () => {
    afterEach(() => useCloud({}));

    it('finding 11: something adds nodes when pods stay Pending, and may change the node group it finds', () => {
      const { base, autoMode } = runs();
      const graph = base.graph;
      const name = clusterName(base);
      const autoscaler = helmRelease(graph, /^cluster-autoscaler$/);
      expect(autoscaler?.inputs.values.autoDiscovery.clusterName).toBe(name);
      expect(autoscaler?.inputs.values.image.tag).toMatch(
        new RegExp(`^v${base.config.eks.version.replace('.', '\\.')}\\.`),
      );
      const association = graph
        .ofType(T.podIdentityAssociation)
        .find(
          (candidate) =>
            candidate.inputs.serviceAccount === autoscaler?.inputs.values.rbac.serviceAccount.name,
        );
      const grants = policiesOfRole(graph, association?.inputs.roleArn).flatMap((policy) =>
        allowing(
          policy,
          'autoscaling:SetDesiredCapacity',
          'arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:x:autoScalingGroupName/nodes',
        ),
      );
      // Only the groups EKS tags as this cluster's.
      expect(grants.map((grant) => grant.Condition)).toEqual([
        { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${name}`]: 'owned' } },
      ]);
      // The autoscaler owns the desired size: a deploy must not reset it.
      expect(graph.ofType(T.nodeGroup)[0]?.ignoreChanges).toContain('scalingConfig.desiredSize');
      // Auto Mode scales its own nodes, within the program's NodePool.
      const pool = autoMode!.graph.resources.find((resource) => resource.type.endsWith(':NodePool'));
      expect(pool?.inputs.spec.limits).toEqual({
        cpu: String(autoMode!.config.eks.nodePool.cpu),
        memory: `${autoMode!.config.eks.nodePool.memoryGiB}Gi`,
      });
    });

    it('finding 11: the preview holds every pod at its autoscaling maximum against the nodes, and refuses a stack that does not fit', async () => {
      const { base, autoMode } = runs();
      expect(await capacityProblemFor(pods(base), base.config.eks)).toBeUndefined();
      expect(await capacityProblemFor(pods(autoMode!), autoMode!.config.eks)).toBeUndefined();
      const app = base.config.servers.app!;
      const tooMany = {
        ...base.config,
        servers: { ...base.config.servers, app: { ...app, autoscaling: { ...app.autoscaling, max: 100 } } },
      };
      expect(await capacityProblemFor(pods({ ...base, config: tooMany }), base.config.eks)).toMatch(
        /^mcp-fleet:eks\.nodeGroup\.max: .*servers\.app: 100 × .* need \d+ .* nodes .* may grow to \d+; raise eks\.nodeGroup\.max/,
      );
      expect(
        await capacityProblemFor(
          pods({ ...autoMode!, config: { ...tooMany, eks: autoMode!.config.eks } }),
          autoMode!.config.eks,
        ),
      ).toMatch(/^mcp-fleet:eks\.nodePool: .* limited to \d+ vCPUs/);
    });

    it('finding 14: the preview role reads the cluster, Helm releases included, and every Kubernetes call waits for the access policies', () => {
      const { base } = runs();
      const graph = base.graph;
      const preview = base.config.eks.previewRoleArns;
      expect(preview.length).toBeGreaterThan(0);
      for (const arn of preview) {
        const policies = graph
          .ofType('aws:eks/accessPolicyAssociation:AccessPolicyAssociation')
          .filter((association) => association.inputs.principalArn === arn)
          .map((association) => String(association.inputs.policyArn).replace(ACCESS_POLICY, ''));
        expect(
          policies.some((policy) => READS_SECRETS.includes(policy)),
          arn,
        ).toBe(true);
        // Read only: a pull request's preview cannot change the cluster.
        expect(policies).toEqual(['AmazonEKSAdminViewPolicy']);
      }
      const associations = new Set(graph.ofType('aws:eks/accessPolicyAssociation:AccessPolicyAssociation'));
      const racing = graph.resources
        .filter((resource) => resource.type.startsWith('kubernetes:') && !resource.read)
        .filter((resource) => {
          const before = new Set(graph.prerequisites(resource));
          return [...associations].some((association) => !before.has(association));
        })
        .map(label);
      expect(racing).toEqual([]);
    });

    it('finding 16: nodes and addons follow eks.version, and an upgrade moves them in place', () => {
      const { base, upgraded } = runs();
      const versionOf = (captured: Captured) => captured.config.eks.version;
      for (const captured of [base, upgraded!]) {
        expect(captured.graph.ofType(T.nodeGroup)[0]?.inputs.version).toBe(versionOf(captured));
        for (const addon of captured.graph.ofType(T.addon)) {
          expect(addon.inputs.addonVersion, label(addon)).toBe(
            defaultAddonVersion(addon.inputs.addonName, versionOf(captured)),
          );
        }
      }
      const moved = churn(base.graph, upgraded!.graph);
      expect({ deleted: moved.deleted, replaced: moved.replaced }).toEqual({ deleted: [], replaced: [] });
    });

    it('finding 16: switching eks.compute on a cluster that exists is refused at preview, naming the key', async () => {
      const { base } = runs();
      const name = clusterName(base);
      expect(await computeModeProblemFor(name, 'auto')).toBeUndefined();
      useCloud({ clusters: { [name]: { autoMode: false } } });
      expect(await computeModeProblemFor(name, 'managed')).toBeUndefined();
      expect(await computeModeProblemFor(name, 'auto')).toMatch(
        new RegExp(
          `^mcp-fleet:eks\\.compute: the cluster ${name} runs compute: managed; switching it to auto .* refused`,
        ),
      );
      useCloud({ clusters: { [name]: { autoMode: true } } });
      expect(await computeModeProblemFor(name, 'managed')).toMatch(
        /runs compute: auto; switching it to managed/,
      );
    });
  });
}
