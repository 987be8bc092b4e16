import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startTwoNodes, type TwoNodes } from '../helpers/app-node.js';
import {
  connectEveryEra,
  connectLegacyClient,
  connectModernClient,
  structuredOf,
  textOf,
} from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { apiKeyPrincipalOf, sha256Entry } from '../helpers/security.js';

const USER_KEY = `user-${randomBytes(24).toString('base64url')}`;
const ADMIN_KEY = `admin-${randomBytes(24).toString('base64url')}`;
const TOOLS_CHANGED = { name: 'notify_change', arguments: { kind: 'tools_list_changed' } };
const RESOURCES_CHANGED = { name: 'notify_change', arguments: { kind: 'resources_list_changed' } };

describe('notify_change is for administrators (AUTH_MODE=apikey, two nodes on one Redis)', () => {
  let nodes: TwoNodes;
  let a: AppNode;
  let b: AppNode;

  beforeAll(async () => {
    // The admin key is configured only as its digest, and only in AUTH_ADMIN_API_KEYS.
    nodes = await startTwoNodes('admin', {
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS: USER_KEY,
      AUTH_ADMIN_API_KEYS: sha256Entry(ADMIN_KEY),
      // Only for their capabilities: resources.listChanged, so listeners can hear a second kind.
      MCP_CONFORMANCE_FIXTURES: '1',
    });
    ({ a, b } = nodes);
  });
  afterAll(() => nodes?.stop());

  it('refuses a plain key in every era with a tool error that says what is needed, and publishes nothing', async () => {
    // A 2026 listener on B hears whatever is published on any node, by kind.
    const listener = await connectModernClient(() => b.url, 'listener', { token: USER_KEY });
    const heard = { tools: 0, resources: 0 };
    listener.client.setNotificationHandler('notifications/tools/list_changed', () => {
      heard.tools++;
    });
    listener.client.setNotificationHandler('notifications/resources/list_changed', () => {
      heard.resources++;
    });
    const subscription = await listener.client.listen({ toolsListChanged: true, resourcesListChanged: true });
    // The admin's events are resources_list_changed: a marker no refused call tries to send.
    const admin = await connectLegacyClient(() => a.url, 'admin-2025', { token: ADMIN_KEY });
    const adminPublishes = async () => {
      const result = await admin.client.callTool(RESOURCES_CHANGED);
      expect(textOf(result)).toBe('Published resources_list_changed to every node.');
    };
    // The listener is live once it hears the admin (pub/sub drops what is sent before that).
    await waitFor(
      'the listener to hear the admin',
      async () => {
        await adminPublishes();
        await new Promise((resolve) => setTimeout(resolve, 200));
        return heard.resources > 0;
      },
      10_000,
    );
    const markersBefore = heard.resources;

    const users = await connectEveryEra(() => a.url, 'user', USER_KEY);
    for (const client of users) {
      const refused = await client.callTool(TOOLS_CHANGED);
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toBe(
        'Forbidden: notify_change reaches every client of every caller, so it is for administrators only. It needs an API key listed in AUTH_ADMIN_API_KEYS. Nothing was published.',
      );
    }
    // One more marker, sent after the refused calls returned: had any of them published, its event
    // would have reached the listener before the marker (events keep their order on the bus).
    await adminPublishes();
    await waitFor('the last marker', () => heard.resources > markersBefore);
    expect(heard.tools).toBe(0);

    await subscription.close();
    await Promise.all([listener.client.close(), admin.client.close(), ...users.map((c) => c.close())]);
  });

  it('admits the admin key in every era: it is also an ordinary key, with its own principal', async () => {
    const clients = await connectEveryEra(() => b.url, 'admin', ADMIN_KEY);
    for (const client of clients) {
      const published = await client.callTool(TOOLS_CHANGED);
      expect(published.isError).toBeFalsy();
      expect(textOf(published)).toBe('Published tools_list_changed to every node.');
      expect(structuredOf(await client.callTool({ name: 'node_info', arguments: {} })).principal).toBe(
        apiKeyPrincipalOf(ADMIN_KEY),
      );
      await client.close();
    }
  });

  it('annotates notify_change as neither read-only nor idempotent', async () => {
    const { client } = await connectModernClient(() => a.url, 'lister', { token: USER_KEY });
    const { tools } = await client.listTools();
    expect(tools.find((tool) => tool.name === 'notify_change')?.annotations).toEqual({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
    });
    await client.close();
  });
});
