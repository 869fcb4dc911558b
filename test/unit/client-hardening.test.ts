/**
 * Regressions found by the fuzzing and fault-injection suites, pinned down one by one.
 */
import { describe, expect, it } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import { SessionLostError } from '../../src/errors/index.js';
import { FakeTransport, drivenOptions } from '../helpers/fake-transport.js';
import { ManualClock, flushMicrotasks } from '../helpers/manual-clock.js';

function setup() {
  const clock = new ManualClock();
  const fake = new FakeTransport();
  const errors: unknown[] = [];
  const c = new RealtimeClient('ws://test.invalid/realtime', drivenOptions(fake, clock));
  c.on('error', (e) => errors.push(e));
  return { clock, fake, errors, c };
}

describe('client hardening regressions', () => {
  it('ignores a welcome heartbeat interval of 0 instead of abandoning the link', async () => {
    const { fake, errors, c } = setup();
    c.connect();
    await flushMicrotasks();
    fake.last.accept({ hb: { intervalMs: 0, timeoutMs: 0 } });
    await flushMicrotasks();
    expect(errors).toEqual([]);
    expect(c.state).toBe('open');
    expect(fake.links).toHaveLength(1);
    expect(fake.last.closedWith).toBeUndefined();
    c.close();
  });

  it('rejects a request the old session acknowledged but never answered with SessionLostError', async () => {
    const { clock, fake, c } = setup();
    c.connect();
    await flushMicrotasks();
    fake.last.accept({ resume: 'r1' });
    await flushMicrotasks();
    const answered = c.request('work', 1, { timeoutMs: 60_000 });
    const outcome = answered.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    fake.last.push({ type: 'ack', ack: 1 }); // delivered to the server, which never answers
    fake.last.drop();
    const queued = c.request('later', 2, { timeoutMs: 60_000 }); // only queued: goes to the new session
    clock.advance(1);
    await flushMicrotasks();
    fake.last.accept({ resumed: false, sid: 's2', resume: 'r2' });
    await flushMicrotasks();
    expect(await outcome).toBeInstanceOf(SessionLostError);
    const [later] = fake.last.framesOf('request');
    expect(later?.event).toBe('later');
    fake.last.push({ type: 'response', seq: 1, id: later?.id as number, ok: true, data: 'ok' });
    await expect(queued).resolves.toBe('ok');
    c.close();
  });
});
