/**
 * The server forgets a long-polling id once a GET took its `close` frame, and answers a POST for it
 * 204 for a while after (PROTOCOL.md, "Close"): the client sent that POST before the close frame
 * reached it, and a 404 arriving first would make it reconnect instead of closing. A POST whose
 * headers came before that GET answer but whose body was still arriving (a slow upload, a large
 * batch) found the connection ended once its body was in, and got the 404 all the same.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ServerSession } from '../../src/server/index.js';
import { until, useHarness } from '../helpers/harness.js';

const { server } = useHarness();

describe('long polling: a POST still uploading when a GET takes the close frame', () => {
  it('gets 204 like a POST that crossed that answer, not 404', async () => {
    const s = await server();
    let session: ServerSession | undefined;
    s.rt.on('connection', (it) => (session = it));
    let uploading = false;
    s.http.prependListener(
      'request',
      (req) => (uploading ||= req.method === 'POST' && req.url?.includes('c=') === true),
    );
    const poll = `http://127.0.0.1:${s.port}/realtime/poll`;
    const { c: id } = (await (await fetch(poll, { method: 'POST' })).json()) as { c: string };
    expect((await fetch(`${poll}?c=${id}`, { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' })).status).toBe(204);
    expect(await (await fetch(`${poll}?c=${id}`)).text()).toMatch(/^\[\["w",/);
    uploading = false;
    const body = '[["e",1,"late",null]]';
    const post = request(`${poll}?c=${id}`, { method: 'POST', headers: { 'content-length': body.length } });
    const status = new Promise<number | undefined>((resolve, reject) => {
      post.on('response', (res) => (res.resume(), resolve(res.statusCode)));
      post.on('error', reject);
    });
    post.write(body.slice(0, 5)); // the headers and the start of the body
    await until(() => uploading && session !== undefined);
    session?.close(1000, 'bye');
    const frames = (await (await fetch(`${poll}?c=${id}`)).json()) as unknown[][];
    expect(frames.at(-1)?.slice(0, 2)).toEqual(['c', 1000]);
    post.end(body.slice(5));
    expect(await status).toBe(204);
  });
});
