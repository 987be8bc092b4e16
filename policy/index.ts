import { PolicyPack } from '@pulumi/policy';
import { policies } from './policies.js';

/**
 * The mcp-fleet production checklist. Run it with `pulumi preview --policy-pack policy`; every
 * policy is mandatory, so a violation fails the preview or the update. See docs/deploy.md.
 */
new PolicyPack('mcp-fleet', {
  description:
    'The mcp-fleet production checklist: encrypted private Redis, non-root bounded containers, SSE-safe timeouts, no plaintext secrets, redundant production, log retention.',
  enforcementLevel: 'mandatory',
  policies: policies(),
});
