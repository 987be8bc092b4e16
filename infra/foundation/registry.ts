import { execFileSync } from 'node:child_process';
import * as aws from '@pulumi/aws';
import * as dockerBuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';

export interface RegistryArgs {
  /** Build and push the in-repo server (`build: app`); false when every server uses a published image. */
  buildApp: boolean;
  /** docker-build builds on `pulumi preview` by default, which needs Docker on the runner. */
  buildOnPreview: boolean;
  /** The platform the image is built for; must match the ECS runtime platform / EKS node architecture. */
  platform: 'linux/amd64' | 'linux/arm64';
  /** Production keeps the repository (and its images) when the stack is destroyed. */
  deletionProtection: boolean;
  /** Tags applied to the repository. */
  tags: Record<string, string>;
}

/**
 * Every image the program pushes keeps a `git-<sha>` tag after the stack tag moves on, so it stays
 * tagged (and pullable by a rollback) until it falls out of the newest 30. Untagged images are only
 * what a build from a dirty tree or without git left behind; they go after a week.
 */
export const KEEP_IMAGES = 30;
export const LIFECYCLE_POLICY = {
  rules: [
    {
      rulePriority: 1,
      description: 'Expire untagged images after 7 days',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 2,
      description: `Keep the newest ${KEEP_IMAGES} images`,
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: KEEP_IMAGES },
      action: { type: 'expire' },
    },
  ],
};

/** The ECR repository and, when a server uses `build: app`, the app image built from app/Dockerfile. */
export class Registry extends pulumi.ComponentResource {
  readonly repositoryUrl: pulumi.Output<string>;
  /** `repo:tag@sha256:…`, pinned by digest so a task always runs exactly the image that was built. */
  readonly appImage: pulumi.Output<string> | undefined;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcp-fleet:foundation:Registry', name, {}, opts);
    const built = buildRegistry(this, name, args);
    this.repositoryUrl = built.repository.repositoryUrl;
    this.appImage = built.image?.ref;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, appImage: this.appImage });
  }
}

function buildRegistry(parent: pulumi.Resource, name: string, args: RegistryArgs) {
  const repository = new aws.ecr.Repository(
    `${name}-repo`,
    {
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: 'MUTABLE',
      encryptionConfigurations: [{ encryptionType: 'AES256' }],
      forceDelete: !args.deletionProtection,
      tags: args.tags,
    },
    { parent },
  );
  new aws.ecr.LifecyclePolicy(
    `${name}-lifecycle`,
    { repository: repository.name, policy: JSON.stringify(LIFECYCLE_POLICY) },
    { parent },
  );
  if (!args.buildApp) return { repository, image: undefined };

  const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, { parent });
  const image = new dockerBuild.Image(
    `${name}-app`,
    {
      // Relative paths: Pulumi runs the program from the project root, and absolute paths would
      // differ between laptops and CI and show up as a diff on every preview.
      context: { location: '.' },
      dockerfile: { location: 'app/Dockerfile' },
      platforms: [
        args.platform === 'linux/arm64' ? dockerBuild.Platform.Linux_arm64 : dockerBuild.Platform.Linux_amd64,
      ],
      push: true,
      buildOnPreview: args.buildOnPreview,
      // The commit tag comes first: `ref`, which tasks and pods run, names the first tag.
      tags: imageTags(pulumi.getStack(), gitRevision()).map(
        (tag) => pulumi.interpolate`${repository.repositoryUrl}:${tag}`,
      ),
      registries: [
        {
          address: repository.repositoryUrl,
          username: token.userName,
          password: pulumi.secret(token.password),
        },
      ],
    },
    { parent },
  );
  return { repository, image };
}

/** `git-<sha>` (when the build is a clean commit), then the stack name. */
export function imageTags(stack: string, revision: string | undefined): string[] {
  return revision ? [`git-${revision}`, stack] : [stack];
}

/**
 * The commit being built: `git rev-parse HEAD` on a clean tree (CI checks out the commit ci.yml
 * tested). A dirty tree or no git gives undefined: that image is what no commit holds, so it gets no
 * commit tag (and expires a week after the stack tag moves on).
 */
export function gitRevision(cwd = process.cwd()): string | undefined {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    if (git('status', '--porcelain', '--untracked-files=no') !== '') return undefined;
    return git('rev-parse', '--short=12', 'HEAD');
  } catch {
    return undefined;
  }
}
