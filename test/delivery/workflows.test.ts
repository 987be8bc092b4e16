import { readdirSync, readFileSync } from 'node:fs';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const DIR = '.github/workflows';
const files = readdirSync(DIR).filter((f) => f.endsWith('.yml'));

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  environment?: string;
  needs?: string | string[];
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  steps: Step[];
}
interface Workflow {
  name?: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}
/** A GitHub Actions expression as it appears in a workflow: `${{ body }}`. */
const expression = (body: string) => `\${{ ${body} }}`;
const load = (file: string) => parse(readFileSync(`${DIR}/${file}`, 'utf8')) as Workflow;
const pulumiStep = (job: Job | undefined) => job?.steps.find((s) => s.uses?.startsWith('pulumi/actions@'));

describe('GitHub Actions workflows', () => {
  it('has ci, preview and deploy', () => {
    expect(files.sort()).toEqual(['ci.yml', 'deploy.yml', 'preview.yml']);
  });

  it.each(files)('%s is valid for GitHub’s own workflow parser', async (file) => {
    const content = readFileSync(`${DIR}/${file}`, 'utf8');
    const result = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    expect(result.value).toBeDefined();
    const template = await convertWorkflowTemplate(result.context, result.value!);
    expect(template.errors ?? []).toEqual([]);
  });

  it('ci runs the same entry point as CI here, on PRs and on main', () => {
    const ci = load('ci.yml');
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
    expect(ci.jobs.test?.steps.some((s) => s.run === 'bash .ci/run')).toBe(true);
  });

  it('preview runs pulumi preview for both stacks with a PR comment, OIDC credentials and the policy pack', () => {
    const preview = load('preview.yml');
    expect(Object.keys(preview.on)).toEqual(['pull_request']);
    expect(preview.permissions?.['id-token']).toBe('write');
    const job = preview.jobs.preview as Job & { strategy: { matrix: { stack: string[] } } };
    expect(job.strategy.matrix.stack).toEqual(['staging', 'production']);
    const step = pulumiStep(job);
    expect(step?.with).toMatchObject({ command: 'preview', 'comment-on-pr': true, policyPacks: 'policy' });
    expect(job.steps.some((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))).toBe(true);
    expect(JSON.stringify(job.steps)).not.toMatch(/aws-access-key-id|aws-secret-access-key/);
  });

  it('preview skips fork pull requests (no secrets, no OIDC) and supersedes itself per stack and PR', () => {
    const job = load('preview.yml').jobs.preview;
    expect(job?.if).toContain('github.event.pull_request.head.repo.full_name == github.repository');
    expect(job?.if).toContain("vars.PULUMI_ORG != ''");
    expect(job?.concurrency).toEqual({
      group: `preview-${expression('matrix.stack')}-${expression('github.event.pull_request.number')}`,
      'cancel-in-progress': true,
    });
  });

  it('deploy updates staging only after ci passed on a push to main, one update per stack at a time', () => {
    const deploy = load('deploy.yml');
    expect(deploy.on.push).toBeUndefined();
    expect(deploy.on.workflow_run).toEqual({ workflows: ['ci'], types: ['completed'], branches: ['main'] });
    expect(deploy.jobs.staging?.if).toContain("github.event.workflow_run.conclusion == 'success'");
    expect(deploy.jobs.staging?.if).toContain("github.event.workflow_run.event == 'push'");
    for (const stack of ['staging', 'production']) {
      const job = deploy.jobs[stack];
      expect(job?.concurrency).toEqual({ group: `pulumi-${stack}`, 'cancel-in-progress': false });
      // The commit ci.yml tested.
      expect(job?.steps[0]?.with?.ref).toBe(expression('github.event.workflow_run.head_sha || github.sha'));
    }
    expect(load('ci.yml').name).toBe('ci');
    expect(pulumiStep(deploy.jobs.staging)?.with).toMatchObject({ command: 'up', policyPacks: 'policy' });
    expect(String(pulumiStep(deploy.jobs.staging)?.with?.['stack-name'])).toMatch(/\/staging$/);
    const production = deploy.jobs.production;
    expect(production?.environment).toBe('production');
    expect(production?.needs).toBe('staging');
    expect(String(pulumiStep(production)?.with?.['stack-name'])).toMatch(/\/production$/);
  });
});
