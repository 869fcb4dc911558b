/**
 * PROTOCOL.md's long-polling timers, on the reference server's own clock: how long a connection
 * whose client holds no GET lives ("Liveness"), and how long the frames queued ahead of a `close`
 * frame wait for a GET ("Close").
 */
import { describe, expect, it } from 'vitest';
import type { DisconnectInfo } from '../../src/server/index.js';
import { useDocServer } from '../helpers/doc-client-setup.js';
import { until } from '../helpers/harness.js';
import { ManualClock } from '../helpers/manual-clock.js';

const { start, idle, link, hold } = useDocServer();

describe('long-polling timers of the reference server', () => {
  it('forgets a connection whose client made no request for pollTimeoutMs + 10 s (1006); the session waits for a resume', async () => {
    const clock = new ManualClock();
    const s = await start({ clock, longPoll: { pollTimeoutMs: 1000 } });
    const p = await idle(s);
    const w = await p.hello();
    const lost: DisconnectInfo[] = [];
    s.sessions[0]?.on('disconnect', (info) => lost.push(info));
    clock.advance(10_999);
    expect(lost).toEqual([]);
    clock.advance(1);
    expect(lost.map((l) => l.code)).toEqual([1006]);
    expect((await p.get()).status).toBe(404); // the id is forgotten
    const q = await link(s, 'longpoll');
    expect(await q.hello({ resume: w.resume })).toMatchObject({ resumed: true, sid: w.sid });
  });

  it('pings a silent client after intervalMs, and after intervalMs + timeoutMs answers its held GET 404 (4000 at the server)', async () => {
    const clock = new ManualClock();
    const s = await start({ clock, heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    const p = await idle(s);
    const w = await p.hello();
    const lost: number[] = [];
    s.sessions[0]?.on('disconnect', (info) => lost.push(info.code));
    const first = await hold(s, p);
    clock.advance(1000);
    expect((await first.answer).body).toEqual([2, ['p', clock.now()]]);
    const second = await hold(s, p);
    clock.advance(499);
    expect(lost).toEqual([]);
    clock.advance(1);
    expect((await second.answer).status).toBe(404); // ended without a close frame
    expect(lost).toEqual([4000]);
    const q = await link(s, 'longpoll');
    expect(await q.hello({ resume: w.resume })).toMatchObject({ resumed: true });
  });

  it('keeps the frames queued ahead of a close frame 5 s for a GET, then only the close frame', async () => {
    const clock = new ManualClock();
    const s = await start({ clock });
    const frames = async (waitMs: number) => {
      const p = await idle(s);
      await p.hello();
      const session = s.sessions.at(-1);
      session?.send('n', 1);
      session?.close(4999, 'bye');
      clock.advance(waitMs);
      const answer = await p.get();
      expect(answer.status).toBe(200);
      return (answer.body as unknown[]).slice(1); // after the batch number
    };
    expect(await frames(4_999)).toEqual([
      ['e', 1, 'n', 1],
      ['c', 4999, 'bye'],
    ]);
    expect(await frames(5_000)).toEqual([['c', 4999, 'bye']]); // a later GET still learns that it ended
  });

  it('waits up to 2 s at shutdown for a GET to take the close 1001, then ends the connection without one', async () => {
    const clock = new ManualClock();
    const s = await start({ clock });
    const p = await idle(s);
    await p.hello();
    const ends: number[] = [];
    s.sessions[0]?.on('end', (info) => ends.push(info.code));
    let closed = false;
    void s.rt.close().then(() => (closed = true));
    expect(ends).toEqual([1001]); // the session ended at once; its close frame waits for a GET
    clock.advance(1_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    clock.advance(1);
    await until(() => closed);
    p.gone = true; // the endpoint detached with its last connection: no DELETE to send
  });
});
