/**
 * Request ids across a page reload (found by test/faults/chaos.test.ts). A persisted session
 * outlives the page, and PROTOCOL.md says a request id MUST be unique within the session; but each
 * client instance counted its ids from 1, so the next page re-sent the last page's request under
 * an id it then handed out again, and the response to the old request settled the new one. Ids now
 * start at random per instance (requests.ts).
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import { webStorageStore } from '../../src/storage/web-storage.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
let fake: FakeTransport;
let clients: RealtimeClient[];

function page(): RealtimeClient {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [fake],
    lifecycle: false,
    reconnect: { initialDelayMs: 1000, jitter: 'none' },
    queue: { storage: webStorageStore(localStorage), storageKey: 'k' },
  });
  clients.push(c);
  return c;
}

useFakeClients(
  () => {
    localStorage.clear();
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

describe('request ids across a page reload', () => {
  it("a request made as the next page starts is not settled by the last page's response", async () => {
    const before = page();
    void before.request('whoami', 'old page').catch(() => {});
    await settle();
    fake.last.accept({ resume: 'r1' }); // request #1 goes out; the page dies before its response
    await settle();
    const after = page(); // the reload
    const answer = after.request('whoami', 'new page'); // at start-up, as apps do
    answer.catch(() => {}); // awaited below, unless an expectation fails first
    await settle();
    fake.last.accept({ resumed: true, ack: 0, resume: 'r2' }); // both re-sent / sent
    await settle();
    const ids = fake.last.framesOf('request').map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length); // PROTOCOL.md: unique within the session
    fake.last.push({ type: 'response', seq: 1, id: ids[0] as number, ok: true, data: 'for the old page' });
    fake.last.push({ type: 'response', seq: 2, id: ids[1] as number, ok: true, data: 'for the new page' });
    await expect(answer).resolves.toBe('for the new page');
  });

  it('a request made once the next page is open is not settled by the last page’s response', async () => {
    const before = page();
    await settle();
    fake.last.accept({ resume: 'r1' });
    await settle();
    void before.request('whoami', 'old page').catch(() => {}); // sent; the page dies before its response
    page();
    await settle();
    fake.last.accept({ resumed: true, ack: 1, resume: 'r2' }); // the server has it, and runs it
    await settle();
    const after = clients[1] as RealtimeClient;
    const answer = after.request('whoami', 'new page');
    answer.catch(() => {}); // awaited below
    await settle();
    const [request] = fake.last.framesOf('request');
    fake.last.push({ type: 'response', seq: 1, id: 1, ok: true, data: 'for the old page' }); // id of the old request
    fake.last.push({ type: 'response', seq: 2, id: request?.id as number, ok: true, data: 'for the new page' });
    await expect(answer).resolves.toBe('for the new page');
  });
});
