/**
 * `request()` with an asynchronous store: online, a message goes on the wire once the write holding
 * it landed. A request aborted (or timed out) in that window was not sent yet, so, as its TSDoc
 * says, it is withdrawn: the server never runs it, and what was sent with it still goes, in order.
 */
import { describe, expect, it, vi } from 'vitest';
import { OutboundLog } from '../../src/client/outbound.js';
import { AbortError, QueueFullError, TimeoutError } from '../../src/errors/index.js';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture({ heartbeat: false });

function slowStore(): { store: SessionStore; land(): Promise<void>; stored: () => SessionSnapshot | undefined } {
  const writes: (() => void)[] = [];
  let stored: SessionSnapshot | undefined;
  const store: SessionStore = {
    load: () => undefined,
    save: (_k, s) => new Promise<void>((done) => void writes.push(() => ((stored = s), done()))),
    remove: () => {},
  };
  // Every write under way lands, and the ones they lead to.
  const land = async (): Promise<void> => {
    await settle();
    for (let i = 0; i < 10 && writes.length > 0; i++) {
      for (const done of writes.splice(0)) done();
      await settle();
    }
  };
  return { store, land, stored: () => stored };
}

/** Makes `link`'s transport throw on the frame of event 'a': the request before it went out, 'a' did not. */
function failAtA<L extends { send(text: string): void }>(link: L): L {
  const send = link.send.bind(link);
  link.send = (text: string) => {
    if (text.includes('"a"')) throw new Error('socket gone');
    send(text);
  };
  return link;
}

describe('a request given up on while its write is under way', () => {
  it.each(['abort', 'timeout'] as const)(
    '%s: withdrawn, never sent; the rest goes with gap-free numbers',
    async (how) => {
      const { store, land } = slowStore();
      const c = t.make({ queue: { storage: store, storageKey: 'k' } });
      await land();
      t.fake.last.accept({ resume: 'r1' });
      await land();
      const ac = new AbortController();
      c.send('before', 1);
      const r = c.request('q', 2, how === 'abort' ? { signal: ac.signal } : { timeoutMs: 0 });
      const check = expect(r).rejects.toBeInstanceOf(how === 'abort' ? AbortError : TimeoutError);
      c.send('after', 3);
      if (how === 'abort') ac.abort();
      await settle();
      await check;
      await land();
      expect(t.fake.last.framesOf('request')).toEqual([]);
      expect(t.fake.last.framesOf('event').map((f) => [f.seq, f.event])).toEqual([
        [1, 'before'],
        [2, 'after'],
      ]);
      expect(c.close().map((m) => m.event)).toEqual(['before', 'after']);
    },
  );

  it('alone in its write: withdrawn, and written so (a reload does not send it)', async () => {
    const { store, land, stored } = slowStore();
    const c = t.make({ queue: { storage: store, storageKey: 'k' } });
    await land();
    t.fake.last.accept({ resume: 'r1' });
    await land();
    const ac = new AbortController();
    const r = c.request('q', 1, { signal: ac.signal });
    ac.abort();
    await expect(r).rejects.toBeInstanceOf(AbortError);
    await land();
    expect(t.fake.last.framesOf('request')).toEqual([]);
    expect(stored()?.outbound.entries).toEqual([]);
    c.send('next', 2);
    await land();
    expect(t.fake.last.framesOf('event').map((f) => f.seq)).toEqual([1]);
  });

  it('aborted by a close handler as a write of its batch fails: what went out keeps its number', async () => {
    const { store, land } = slowStore();
    const c = t.make({ queue: { storage: store, storageKey: 'k' }, reconnect: { initialDelayMs: 1000 } });
    await land();
    const ac = new AbortController();
    // Queued before the welcome: one batch, written once the write holding it landed.
    const r = c.request('q', 1, { signal: ac.signal }).catch((e: Error) => e.name);
    c.send('a', 2);
    c.send('b', 3);
    c.on('close', () => ac.abort());
    const link = failAtA(t.fake.last);
    link.accept({ resume: 'r1' });
    await land();
    expect(await r).toBe('AbortError');
    expect(link.framesOf('request').map((f) => f.seq)).toEqual([1]);
    // The server got the request as 1: a resume acknowledging it re-sends 'a' and 'b' as 2 and 3.
    await vi.advanceTimersByTimeAsync(1000);
    t.fake.last.accept({ resumed: true, ack: 1 });
    await land();
    expect(t.fake.last.sent.slice(1)).toEqual(['["e",2,"a",2]', '["e",3,"b",3]']);
  });

  it('rejected by a fatal close during its write: withdrawn, connect() does not send it', async () => {
    const { store, land } = slowStore();
    const c = t.make({ queue: { storage: store, storageKey: 'k' } });
    await land();
    t.fake.last.accept({ resume: 'r1' });
    await land();
    const r = c.request('q', 1).catch((e: Error) => e.name);
    c.send('a', 2);
    t.fake.last.push({ type: 'close', code: 4401, reason: 'auth expired' });
    await land();
    expect(c.state).toBe('closed');
    expect(await r).toBe('ClosedError');
    c.connect();
    await land();
    t.fake.last.accept({ resume: 'r1', resumed: true });
    await land();
    expect(t.fake.last.sent.slice(1)).toEqual(['["e",1,"a",2]']);
  });

  it('a link that fails in the middle of a batch and stops the client: what went out keeps its number', async () => {
    const { store, land } = slowStore();
    const c = t.make({ queue: { storage: store, storageKey: 'k' }, reconnect: false });
    await land();
    const r = c.request('q', 1).catch((e: Error) => e.name);
    c.send('a', 2);
    c.send('b', 3);
    const link = failAtA(t.fake.last);
    link.accept({ resume: 'r1' });
    await land();
    expect(c.state).toBe('closed');
    expect(await r).toBe('ClosedError');
    c.connect();
    await land();
    t.fake.last.accept({ resumed: true, ack: 1 });
    await land();
    expect(t.fake.last.sent.slice(1)).toEqual(['["e",2,"a",2]', '["e",3,"b",3]']);
  });

  it('entries queued again by a withdrawal count toward the queue bounds, the request found or not', () => {
    const msg = (n: number) => ({ event: 'm', data: n, queuedAt: 0 });
    const log = new OutboundLog({ maxMessages: 1000, maxBytes: 40, overflow: 'error' });
    log.append(msg(1));
    log.append(msg(2));
    expect(log.takeQueued()).toHaveLength(2); // taken for a write that has not landed
    expect(log.removeRequest(7, true)).toBe(true); // the link went, say: the batch is queued again
    expect(log.queued).toBe(2);
    expect(() => log.append(msg(3))).toThrow(QueueFullError);
  });
});
