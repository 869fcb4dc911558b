/**
 * KNOWN DEFECT, not fixed (`it.fails`: make it `it` with the fix). Long-polling connections
 * refused in their handshake (a bad hello) give their `maxHandshakes` place back at once but keep
 * their close frame for a GET up to the idle timeout (35 s), so their number is not bounded: open
 * + bad hello in a loop leaves one connection per round trip (5,000 in 1.3 s on loopback).
 */
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { useHarness } from '../helpers/harness.js';

const { server } = useHarness();

describe('long-polling connections refused in their handshake', () => {
  it.fails('are no more at once than maxHandshakes while their close frames wait', async () => {
    const s = await server({ maxHandshakes: 2 });
    const poll = `http://127.0.0.1:${s.port}/realtime/poll`;
    const held: string[] = [];
    for (let i = 0; i < 10; i++) {
      const opened = await fetch(poll, { method: 'POST', body: '{"n":1}' });
      if (opened.status !== 200) continue;
      const { c } = (await opened.json()) as { c: string };
      await fetch(`${poll}?c=${c}`, { method: 'POST', body: '[["x"]]' });
      held.push(c);
    }
    // Every id still holds a connection (its close frame), a GET collects it:
    for (const c of held) {
      const frames = (await (await fetch(`${poll}?c=${c}`)).json()) as unknown[];
      expect((frames[1] as unknown[]).slice(0, 2)).toEqual(['c', CloseCode.ProtocolError]);
    }
    expect(held.length).toBeLessThanOrEqual(2);
  });
});
