/**
 * A long-polling connection refused in its handshake (a bad hello, unauthorized, a timeout) keeps
 * its `close` frame for a GET, up to `handshakeTimeoutMs` (test/integration/longpoll-refused-bound.test.ts).
 * Each of them held the opening POST's request and its headers as well (2.4 kB of the 3.7 kB one
 * cost, measured), though nothing reads it any more.
 */
import { IncomingMessage } from 'node:http';
import { queryObjects } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { useHarness } from '../helpers/harness.js';

const { server } = useHarness();

/** Connections refused: enough that one object each stands out from the test's own. */
const N = 50;

const requests = (): number => queryObjects(IncomingMessage, { format: 'count' });

describe('a long-polling connection refused in its handshake', () => {
  it('keeps no opening request while its close frame waits for a GET', async () => {
    const s = await server();
    const poll = `http://127.0.0.1:${s.port}/realtime/poll`;
    const refuse = async (): Promise<string> => {
      const opened = await fetch(poll, {
        method: 'POST',
        body: '{"n":1}',
        headers: { Cookie: 'sid='.padEnd(600, 'x') },
      });
      const { c } = (await opened.json()) as { c: string };
      expect((await fetch(`${poll}?c=${c}`, { method: 'POST', body: '[["x"]]' })).status).toBe(204);
      return c;
    };
    await refuse(); // the first use of each path, not counted
    const before = requests();
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push(await refuse());
    expect((requests() - before) / N).toBeLessThan(0.5); // was 1
    // Each still tells a later GET why it ended.
    const frames = (await (await fetch(`${poll}?c=${ids[0] ?? ''}`)).json()) as unknown[];
    expect((frames[1] as unknown[]).slice(0, 2)).toEqual(['c', CloseCode.ProtocolError]);
  });
});
