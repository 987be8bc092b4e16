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
  environment?: string;
  needs?: string | string[];
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}
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

  it('deploy updates staging on main, then production behind an approval environment', () => {
    const deploy = load('deploy.yml');
    expect(deploy.on.push).toEqual({ branches: ['main'] });
    expect(pulumiStep(deploy.jobs.staging)?.with).toMatchObject({ command: 'up', policyPacks: 'policy' });
    expect(String(pulumiStep(deploy.jobs.staging)?.with?.['stack-name'])).toMatch(/\/staging$/);
    const production = deploy.jobs.production;
    expect(production?.environment).toBe('production');
    expect(production?.needs).toBe('staging');
    expect(String(pulumiStep(production)?.with?.['stack-name'])).toMatch(/\/production$/);
  });
});
