/**
 * `options.urls` overrides against the real server. The option check accepts a ws:, wss:, http: or
 * https: URL for every transport, and PROTOCOL.md ("URL derivation") says ws: maps to http: and wss:
 * to https: for the fallbacks: an override written in the main URL's scheme (or with a fragment, as
 * the main URL may have) must reach the same endpoint, not fail every attempt at connect time
 * (fetch refuses a ws: URL; sockjs-client throws a SyntaxError for a ws: URL or a fragment).
 */
import SockJSClient from 'sockjs-client';
import { describe, expect, it } from 'vitest';
import type { TransportName } from '../../src/transports/transport.js';
import type { SockJSConstructor } from '../../src/transports/transport.js';
import { useHarness } from '../helpers/harness.js';

const { server, client } = useHarness({ SockJS: SockJSClient as SockJSConstructor, heartbeat: false });

describe('an endpoint override in the main URL scheme', () => {
  it.each([
    ['longpoll', 'ws', '/realtime/poll?room=a'],
    ['sockjs', 'ws', '/realtime/sockjs#top'],
  ] as const)('%s given a %s: URL connects', async (name: TransportName, scheme, path) => {
    const s = await server();
    const c = client(`ws://127.0.0.1:${s.port}/realtime`, {
      transports: [name],
      urls: { [name]: `${scheme}://127.0.0.1:${s.port}${path}` },
      connectTimeoutMs: 2000,
    });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await expect(c.waitFor('open', { timeoutMs: 4000 })).resolves.toMatchObject({ transport: name });
    expect(errors).toEqual([]);
  });
});
