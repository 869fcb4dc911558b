// A browser may send a POST again when its connection died before any answer came: Chromium does,
// on a reused keep-alive connection, and the first copy may have reached the server. Events and
// requests repeated so are duplicates by their seq; a long-polling client's hello repeated so was
// a second hello, which ended the session (4400), and the client's next attempt found it gone
// (`open` with `resumed: false`, SessionLostError) long before the grace period:
// test/browser/chaos.test.ts met it when a cut landed during a long-polling handshake (CHAOS_SEED=16,
// seed 17). A POST whose one frame is the connection's hello, as it was, is now answered 204 and
// dropped (PROTOCOL.md, Long polling); any other second hello still closes 4400
// (doc-client-setup.ts's bad frames).
import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/harness.js';

const { server } = useHarness<{ chat: { from: string; text: string } }, { chat: { text: string } }>({
  transports: ['longpoll'],
});

describe('long polling: a POST the browser sent again', () => {
  it('does not end the session when it repeats the hello', async () => {
    const s = await server();
    s.rt.on('connection', (session) => session.on('chat', ({ text }) => session.send('chat', { from: 'srv', text })));
    const poll = `${s.url.replace(/^ws/, 'http')}/poll`;
    const { c: id } = (await (await fetch(poll, { method: 'POST', body: '{"n":1}' })).json()) as { c: string };
    const at = `${poll}?c=${id}`;
    const hello = '[["h",{"v":1,"ack":0}]]';
    const welcome = (await (await fetch(at, { method: 'POST', body: hello })).json()) as unknown[];
    expect((welcome[1] as unknown[])[0]).toBe('w');
    // The same body again, as the browser resends it.
    expect((await fetch(at, { method: 'POST', body: hello })).status).toBe(204);
    const echo = await fetch(at, { method: 'POST', body: '[["e",1,"chat",{"text":"hi"}]]' });
    expect(await echo.json()).toEqual([2, ['e', 1, 'chat', { from: 'srv', text: 'hi' }]]);
    expect(s.rt.sessions.size).toBe(1);
  });
});
