import { z } from 'zod';
import { type FixtureTool, text } from './fixture.js';

const NO_ARGUMENTS = z.object({});

/**
 * Hooks the suite calls to make the server announce a change. The fixture lists themselves are
 * static; what is under test is the announcement: it is appended to the shared event log (a Redis
 * Stream in a cluster: app/bus/event-log.ts) and so reaches `subscriptions/listen` streams and 2025-era GET streams on
 * every node, not just the one that served this call.
 */
export const CHANGE_TOOLS: readonly FixtureTool[] = [
  {
    name: 'test_trigger_tool_change',
    description: 'Announces that the tool list changed, to every client on every node.',
    input: NO_ARGUMENTS,
    run: async (_args, _ctx, env) => {
      await env.publish({ kind: 'tools_list_changed' });
      return { content: [text('Published tools/list_changed.')] };
    },
  },
  {
    name: 'test_trigger_prompt_change',
    description: 'Announces that the prompt list changed, to every client on every node.',
    input: NO_ARGUMENTS,
    run: async (_args, _ctx, env) => {
      await env.publish({ kind: 'prompts_list_changed' });
      return { content: [text('Published prompts/list_changed.')] };
    },
  },
  {
    name: 'test_trigger_resource_update',
    description: 'Announces that test://watched-resource changed, to the clients subscribed to it.',
    input: NO_ARGUMENTS,
    run: async (_args, _ctx, env) => {
      await env.publish({ kind: 'resource_updated', uri: WATCHED_RESOURCE_URI });
      return { content: [text(`Published resources/updated for ${WATCHED_RESOURCE_URI}.`)] };
    },
  },
];

export const WATCHED_RESOURCE_URI = 'test://watched-resource';
