import {
  type InputRequests,
  inputRequired,
  inputResponse,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { ToolResult } from '../tools/tool.js';
import { type FixtureEnv, type FixtureTool, text } from './fixture.js';

/**
 * Tools that need input from the client: elicitation, sampling and roots. Each is written once
 * with `inputRequired`: a 2026-07-28 client retries the call with the answers (on any node; the
 * requestState is sealed with MCP_STATE_KEY), and for a 2025-era session the SDK's shim turns the
 * same return into real server→client requests, whose answers our relay brings back to this node.
 */

const NO_ARGUMENTS = z.object({});

const ask = {
  name: inputRequired.elicit({
    message: 'What is your name?',
    requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
  }),
  capital: inputRequired.createMessage({
    messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
    maxTokens: 100,
  }),
  greeting: inputRequired.createMessage({
    messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
    maxTokens: 50,
  }),
  roots: inputRequired.listRoots(),
  confirm: inputRequired.elicit({
    message: 'Please confirm',
    requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
  }),
  color: inputRequired.elicit({
    message: 'Step 2: What is your favorite color?',
    requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] },
  }),
};

/** Describes one answer for the tool's result text; a missing one reads as such. */
export function describeAnswer(ctx: ServerContext, key: string): string {
  const answer = inputResponse(ctx.mcpReq.inputResponses, key);
  switch (answer.kind) {
    case 'elicit':
      return `action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
    case 'sampling': {
      const content = answer.result.content;
      const first = Array.isArray(content) ? content[0] : content;
      return first?.type === 'text' ? first.text : JSON.stringify(first);
    }
    case 'roots':
      return `${answer.roots.length} root(s): ${answer.roots.map((root) => root.uri).join(', ')}`;
    case 'missing':
      return 'missing';
  }
}

function answered(ctx: ServerContext, ...keys: string[]): boolean {
  return keys.every((key) => inputResponse(ctx.mcpReq.inputResponses, key).kind !== 'missing');
}

/** Asks for `requests` until every key is answered, then returns `done()`. Stateless: any node can answer. */
function askUntilAnswered(requests: InputRequests, done: (ctx: ServerContext) => string): FixtureTool['run'] {
  return async (_args, ctx) => {
    if (!answered(ctx, ...Object.keys(requests))) return inputRequired({ inputRequests: requests });
    return { content: [text(done(ctx))] };
  };
}

interface SealedState {
  tool: string;
  round: number;
  name?: string;
}

/** Asks with a requestState sealed by MCP_STATE_KEY; a tampered or foreign state is refused by the SDK. */
async function withState(
  ctx: ServerContext,
  env: FixtureEnv,
  state: SealedState,
  inputRequests: InputRequests,
): Promise<ToolResult> {
  return inputRequired({ inputRequests, requestState: await env.requestState.mint(state, ctx) });
}

function confirmedWithState(tool: string): FixtureTool['run'] {
  return async (_args, ctx, env) => {
    const state = ctx.mcpReq.requestState<SealedState>();
    if (state?.tool !== tool || !answered(ctx, 'confirm')) {
      return withState(ctx, env, { tool, round: 1 }, { confirm: ask.confirm });
    }
    return { content: [text(`state-ok: ${describeAnswer(ctx, 'confirm')}`)] };
  };
}

export const INPUT_TOOLS: readonly FixtureTool[] = [
  {
    name: 'test_sampling',
    description: 'Asks the client to sample an LLM with the given prompt.',
    input: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
    run: async ({ prompt }, ctx) => {
      if (!answered(ctx, 'llm')) {
        return inputRequired({
          inputRequests: {
            llm: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: String(prompt) } }],
              maxTokens: 100,
            }),
          },
        });
      }
      return { content: [text(`LLM response: ${describeAnswer(ctx, 'llm')}`)] };
    },
  },
  {
    name: 'test_elicitation',
    description: 'Asks the user for a username and an email address.',
    input: z.object({ message: z.string().describe('The message to show the user') }),
    run: async ({ message }, ctx) => {
      if (!answered(ctx, 'user')) {
        return inputRequired({
          inputRequests: {
            user: inputRequired.elicit({
              message: String(message),
              requestedSchema: {
                type: 'object',
                properties: {
                  username: { type: 'string', description: "User's response" },
                  email: { type: 'string', description: "User's email address" },
                },
                required: ['username', 'email'],
              },
            }),
          },
        });
      }
      return { content: [text(`User response: ${describeAnswer(ctx, 'user')}`)] };
    },
  },
  {
    name: 'test_elicitation_sep1034_defaults',
    description: 'Elicits a form whose every primitive field has a default (SEP-1034).',
    input: NO_ARGUMENTS,
    run: askUntilAnswered(
      {
        form: inputRequired.elicit({
          message: 'Check the defaults',
          requestedSchema: {
            type: 'object',
            properties: {
              name: { type: 'string', default: 'John Doe' },
              age: { type: 'integer', default: 30 },
              score: { type: 'number', default: 95.5 },
              status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' },
              verified: { type: 'boolean', default: true },
            },
          },
        }),
      },
      (ctx) => `Elicitation completed: ${describeAnswer(ctx, 'form')}`,
    ),
  },
  {
    name: 'test_elicitation_sep1330_enums',
    description: 'Elicits a form with all five enum shapes (SEP-1330).',
    input: NO_ARGUMENTS,
    run: askUntilAnswered(
      {
        form: inputRequired.elicit({
          message: 'Pick from each list',
          requestedSchema: {
            type: 'object',
            properties: {
              untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
              titledSingle: {
                type: 'string',
                oneOf: [
                  { const: 'value1', title: 'First Option' },
                  { const: 'value2', title: 'Second Option' },
                  { const: 'value3', title: 'Third Option' },
                ],
              },
              legacyEnum: {
                type: 'string',
                enum: ['opt1', 'opt2', 'opt3'],
                enumNames: ['Option One', 'Option Two', 'Option Three'],
              },
              untitledMulti: {
                type: 'array',
                items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
              },
              titledMulti: {
                type: 'array',
                items: {
                  anyOf: [
                    { const: 'value1', title: 'First Choice' },
                    { const: 'value2', title: 'Second Choice' },
                    { const: 'value3', title: 'Third Choice' },
                  ],
                },
              },
            },
          },
        }),
      },
      (ctx) => `Elicitation completed: ${describeAnswer(ctx, 'form')}`,
    ),
  },
  {
    name: 'test_input_required_result_elicitation',
    description: 'Asks for the user name; asks again until the answer arrives under user_name.',
    input: NO_ARGUMENTS,
    run: async (_args, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'user_name');
      if (answer.kind !== 'elicit') return inputRequired({ inputRequests: { user_name: ask.name } });
      const name = typeof answer.content?.name === 'string' ? answer.content.name : 'stranger';
      return {
        content: [text(answer.action === 'accept' ? `Hello, ${name}!` : `No name (${answer.action}).`)],
      };
    },
  },
  {
    name: 'test_input_required_result_sampling',
    description: 'Asks the client to sample an LLM.',
    input: NO_ARGUMENTS,
    run: askUntilAnswered({ capital_question: ask.capital }, (ctx) =>
      describeAnswer(ctx, 'capital_question'),
    ),
  },
  {
    name: 'test_input_required_result_list_roots',
    description: "Asks for the client's roots.",
    input: NO_ARGUMENTS,
    run: askUntilAnswered({ client_roots: ask.roots }, (ctx) => describeAnswer(ctx, 'client_roots')),
  },
  {
    name: 'test_input_required_result_request_state',
    description: 'Asks for confirmation with a sealed requestState, and verifies it on the retry.',
    input: NO_ARGUMENTS,
    run: confirmedWithState('test_input_required_result_request_state'),
  },
  {
    name: 'test_input_required_result_tampered_state',
    description: 'Like the request_state fixture; a tampered requestState must be refused.',
    input: NO_ARGUMENTS,
    run: confirmedWithState('test_input_required_result_tampered_state'),
  },
  {
    name: 'test_input_required_result_multiple_inputs',
    description: 'Asks for an elicitation, a sampling and the roots in one round.',
    input: NO_ARGUMENTS,
    run: async (_args, ctx, env) => {
      const keys = ['user_name', 'greeting', 'client_roots'];
      if (!answered(ctx, ...keys)) {
        return withState(
          ctx,
          env,
          { tool: 'multiple_inputs', round: 1 },
          { user_name: ask.name, greeting: ask.greeting, client_roots: ask.roots },
        );
      }
      return { content: [text(keys.map((key) => `${key}: ${describeAnswer(ctx, key)}`).join('\n'))] };
    },
  },
  {
    name: 'test_input_required_result_multi_round',
    description: 'Asks for a name, then a colour, each round with a fresh sealed requestState.',
    input: NO_ARGUMENTS,
    run: async (_args, ctx, env) => {
      const tool = 'multi_round';
      const state = ctx.mcpReq.requestState<SealedState>();
      const step1 = inputResponse(ctx.mcpReq.inputResponses, 'step1');
      const step2 = inputResponse(ctx.mcpReq.inputResponses, 'step2');
      if (state?.tool === tool && state.round === 2 && step2.kind === 'elicit') {
        return { content: [text(`${state.name ?? 'Someone'} likes ${String(step2.content?.color)}.`)] };
      }
      if (state?.tool === tool && state.round === 1 && step1.kind === 'elicit') {
        const name = typeof step1.content?.name === 'string' ? step1.content.name : 'Someone';
        return withState(ctx, env, { tool, round: 2, name }, { step2: ask.color });
      }
      return withState(
        ctx,
        env,
        { tool, round: 1 },
        {
          step1: inputRequired.elicit({
            message: 'Step 1: What is your name?',
            requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
          }),
        },
      );
    },
  },
  {
    name: 'test_input_required_result_capabilities',
    description: 'Asks only for what the client declared it can answer.',
    input: NO_ARGUMENTS,
    run: async (_args, ctx, env) => {
      const declared = env.clientCapabilities();
      const requests: InputRequests = {
        ...(declared.elicitation ? { user_name: ask.name } : {}),
        ...(declared.sampling ? { capital_question: ask.capital } : {}),
        ...(declared.roots ? { client_roots: ask.roots } : {}),
      };
      const keys = Object.keys(requests);
      if (keys.length === 0)
        return { content: [text('The client declared nothing this tool could ask for.')] };
      if (!answered(ctx, ...keys)) return inputRequired({ inputRequests: requests });
      return { content: [text(keys.map((key) => `${key}: ${describeAnswer(ctx, key)}`).join('\n'))] };
    },
  },
  {
    // 2026 diagnostic: needs sampling, so a client that did not declare it gets -32021 (from the SDK).
    name: 'test_missing_capability',
    description: 'Needs LLM sampling from the client.',
    input: NO_ARGUMENTS,
    run: askUntilAnswered({ capital_question: ask.capital }, (ctx) =>
      describeAnswer(ctx, 'capital_question'),
    ),
  },
  {
    // 2026 diagnostic: the response stream may carry only the input_required result, never a request.
    name: 'test_streaming_elicitation',
    description: 'Asks the user for their name.',
    input: NO_ARGUMENTS,
    run: askUntilAnswered({ user_name: ask.name }, (ctx) => describeAnswer(ctx, 'user_name')),
  },
];
