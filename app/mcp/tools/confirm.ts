import { acceptedContent, inputRequired } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { defineTool, textResult } from './tool.js';

const Confirmation = z.object({ confirm: z.boolean().describe('Go ahead?') });

interface AskedState {
  action: string;
  askedOn: string;
}

/**
 * Asks the user to confirm before it "does" something, written once for every era:
 * - 2026-07-28: returns `inputRequired` with an elicitation and a requestState sealed with
 *   MCP_STATE_KEY; the client retries with the answer, on whichever node, which verifies it.
 * - 2025 and 2024: the SDK's legacy shim turns the same return into a real `elicitation/create`
 *   request on the session's stream and re-enters the handler with the answer; when the answer
 *   reaches another node it is relayed back here.
 */
export const confirm = defineTool({
  name: 'confirm',
  title: 'Confirm',
  description:
    'Asks the user to confirm an action (elicitation) and reports the answer. Shows multi-round-trip input across nodes.',
  input: z.object({ action: z.string().min(1).max(500).describe('What the user is asked to confirm') }),
  annotations: { readOnlyHint: true },
  run: async ({ action }, ctx, env) => {
    const asked = ctx.mcpReq.requestState<AskedState>();
    if (asked === undefined) {
      return inputRequired({
        inputRequests: {
          confirmation: inputRequired.elicit({
            message: `Confirm: ${action}?`,
            requestedSchema: Confirmation,
          }),
        },
        requestState: await env.requestState.mint({ action, askedOn: env.nodeId } satisfies AskedState, ctx),
      });
    }
    const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirmation', Confirmation);
    const confirmed = answer?.confirm === true;
    return textResult(confirmed ? `Confirmed: ${asked.action}.` : `Not confirmed: ${asked.action}.`, {
      confirmed,
      action: asked.action,
      askedOn: asked.askedOn,
      answeredOn: env.nodeId,
    });
  },
});
