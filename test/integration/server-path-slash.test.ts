/**
 * A `path` written with a trailing slash: clients derive every endpoint with trailing slashes
 * removed (PROTOCOL.md, "URL derivation"), and the SockJS and long-polling endpoints strip them
 * from `path` too; the WebSocket endpoint answered only the path as written, so a client given
 * `ws://host/rt/` never reached it and fell back to SockJS.
 */
import { describe, expect, it } from 'vitest';
import { until, useHarness } from '../helpers/harness.js';

const { server, client } = useHarness();

describe('a path with a trailing slash', () => {
  it('serves WebSocket where the client derives it (trailing slashes removed), as SockJS and long polling do', async () => {
    const s = await server({ path: '/rt/' });
    const c = client(`ws://127.0.0.1:${s.port}/rt/`, { transports: ['websocket'], connectTimeoutMs: 2000 });
    await until(() => c.state === 'open');
    expect(c.transport).toBe('websocket');
  });
});
