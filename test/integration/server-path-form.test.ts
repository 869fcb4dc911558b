/**
 * `path` is compared with the path of each request as clients send it: percent-encoded, without
 * the query. One written in another form (a query, a fragment, a space, a non-ASCII letter, a `..`)
 * was accepted and then matched no request: every transport answered 404 (a client given
 * `ws://host/échanges` asks for `/%C3%A9changes`), with nothing said. It throws now, naming the
 * form to write; that form is served on every transport.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/invalid-argument.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { until, useHarness } from '../helpers/harness.js';

const { server, client, defer } = useHarness();

describe('a path not in the form clients request it', () => {
  it.each([
    ['/rt?v=1', '/rt'],
    ['/rt#top', '/rt'],
    ['/real time', '/real%20time'],
    ['/échanges', '/%C3%A9changes'],
    ['/app/../rt', '/rt'],
    ['/rt ', '/rt'],
  ])('%j throws at createRealtimeServer, naming %j', (path, asSent) => {
    const http = createServer();
    let rt: ReturnType<typeof createRealtimeServer> | undefined;
    const call = () => (rt = createRealtimeServer({ server: http, path }));
    try {
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(`write ${JSON.stringify(asSent)}`);
    } finally {
      void rt?.close();
    }
  });

  it('is served on every transport in its percent-encoded form, to a client given it either way', async () => {
    const s = await server({ path: '/real%20time' });
    s.rt.handle('where', () => 'here');
    for (const transport of ['websocket', 'sockjs', 'longpoll'] as const) {
      const c = client(`ws://127.0.0.1:${s.port}/real time?v=1`, { transports: [transport], connectTimeoutMs: 2000 });
      defer(() => c.close());
      await until(() => c.state === 'open');
      expect(await c.request('where')).toBe('here');
    }
  });
});
