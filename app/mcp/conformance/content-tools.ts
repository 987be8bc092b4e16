import { setTimeout as sleep } from 'node:timers/promises';
import { fromJsonSchema } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { type FixtureTool, text } from './fixture.js';
import { RED_PIXEL_PNG_BASE64, SILENT_WAV_BASE64 } from './media.js';

const NO_ARGUMENTS = z.object({});

/** Three log messages about 50 ms apart: the suite checks that all of them reach the client. */
const logThrice: FixtureTool['run'] = async (_args, ctx) => {
  await ctx.mcpReq.log('info', 'Tool execution started', 'mcp-fleet-conformance');
  await sleep(50);
  await ctx.mcpReq.log('info', 'Tool processing data', 'mcp-fleet-conformance');
  await sleep(50);
  await ctx.mcpReq.log('info', 'Tool execution completed', 'mcp-fleet-conformance');
  return { content: [text('Logged three messages.')] };
};

/** The JSON Schema 2020-12 keywords the suite checks survive registration and `tools/list`. */
const JSON_SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  // biome-ignore lint/suspicious/noThenProperty: the JSON Schema if/then/else keyword the suite checks for.
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
} as const;

/** Tools whose results exercise each content type, errors, progress and logging. */
export const CONTENT_TOOLS: readonly FixtureTool[] = [
  {
    name: 'test_simple_text',
    description: 'Returns one text block.',
    input: NO_ARGUMENTS,
    run: async () => ({ content: [text('This is a simple text response for testing.')] }),
  },
  {
    name: 'test_image_content',
    description: 'Returns a 1x1 PNG image.',
    input: NO_ARGUMENTS,
    run: async () => ({ content: [{ type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' }] }),
  },
  {
    name: 'test_audio_content',
    description: 'Returns 10 ms of silent WAV audio.',
    input: NO_ARGUMENTS,
    run: async () => ({ content: [{ type: 'audio', data: SILENT_WAV_BASE64, mimeType: 'audio/wav' }] }),
  },
  {
    name: 'test_embedded_resource',
    description: 'Returns an embedded text resource.',
    input: NO_ARGUMENTS,
    run: async () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  },
  {
    name: 'test_multiple_content_types',
    description: 'Returns text, an image and an embedded resource in one result.',
    input: NO_ARGUMENTS,
    run: async () => ({
      content: [
        text('Multiple content types test:'),
        { type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    }),
  },
  {
    name: 'test_error_handling',
    description: 'Always fails, as a tool error (isError) the model can read.',
    input: NO_ARGUMENTS,
    run: async () => ({
      content: [text('This tool intentionally returns an error for testing')],
      isError: true,
    }),
  },
  {
    name: 'test_tool_with_progress',
    description: 'Reports progress 0, 50 and 100 of 100 when the request carries a progressToken.',
    input: NO_ARGUMENTS,
    run: async (_args, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await sleep(50);
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100 },
          });
        }
      }
      return { content: [text('Progress reported: 0, 50, 100 of 100.')] };
    },
  },
  {
    name: 'test_tool_with_logging',
    description: 'Sends three info log messages while it runs.',
    input: NO_ARGUMENTS,
    run: logThrice,
  },
  {
    // The 2026 diagnostic: without `_meta.logLevel` on the request, none of these may reach the client.
    name: 'test_logging_tool',
    description: 'Sends three info log messages while it runs (2026: only if the request asked for logs).',
    input: NO_ARGUMENTS,
    run: logThrice,
  },
  {
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    input: fromJsonSchema(JSON_SCHEMA_2020_12 as never),
    run: async (args) => ({ content: [text(`Received ${JSON.stringify(args)}`)] }),
  },
  {
    // 2025 era (SEP-1699): closes the response stream mid-call; the client resumes it with
    // Last-Event-ID, on whichever node the load balancer picks, and gets the result from the
    // event store.
    name: 'test_reconnection',
    description: 'Closes its response stream mid-call, then returns once the client has reconnected.',
    input: NO_ARGUMENTS,
    run: async (_args, ctx) => {
      ctx.http?.closeSSE?.();
      await sleep(100);
      return { content: [text('Reconnection test completed.')] };
    },
  },
];
