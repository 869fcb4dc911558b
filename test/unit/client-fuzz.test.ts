/**
 * Fuzzing the client with 100,000 random and mutated server frames through a scripted transport:
 * during the handshake and on open links. Nothing throws, every `error` is a typed SurelinkError,
 * bad input is answered with a close frame of a documented code, the client reconnects on its own
 * (or stops, for the fatal codes only), no timer is left behind, and a clean link still works.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import { isSurelinkError } from '../../src/errors/index.js';
import { isRetryable } from '../../src/protocol/close-codes.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import { describeFuzzed, fuzzedFrame } from '../helpers/frame-fuzz.js';
import type { Fuzzed } from '../helpers/frame-fuzz.js';
import { collectEscaped } from '../helpers/escaped.js';
import { FakeTransport, drivenOptions } from '../helpers/fake-transport.js';
import type { FakeLink } from '../helpers/fake-transport.js';
import { ManualClock, flushMicrotasks } from '../helpers/manual-clock.js';

/** Close codes the client may put in its own close frame after bad input (PROTOCOL.md, "Bad input"). */
const BAD_INPUT_CODES = new Set([4400, 4413, 4426]);
/** Error codes (README "Errors") a server's frames can cause; anything else is a client bug. */
const ERROR_CODES = new Set(['PROTOCOL', 'AUTH_REJECTED', 'TRANSPORT', 'SESSION_LOST']);

const unhandled = collectEscaped();

function fail(what: string, frame: Fuzzed): never {
  throw new Error(`${what}; frame: ${describeFuzzed(frame)}`);
}

/** One client driven through a script of fuzzed frames; returns how many frames it took. */
async function runScript(script: readonly { frame: Fuzzed; inHandshake: boolean }[]): Promise<number> {
  const clock = new ManualClock();
  const fake = new FakeTransport();
  const errors: unknown[] = [];
  const c = new RealtimeClient<{ n: number }>('ws://fuzz.invalid/realtime', drivenOptions(fake, clock));
  c.on('error', (e) => errors.push(e));
  const delivered: number[] = [];
  c.on('n', (v) => delivered.push(v));
  c.connect();
  let link: FakeLink | undefined;
  const dropped = new Set<FakeLink>();
  const checked = new Map<FakeLink, number>();
  const drop = (l: FakeLink, info?: { code: number; reason: string }): void => {
    dropped.add(l);
    l.drop(info);
  };
  /** Gets the client to an opened link waiting for welcome (`handshake`) or to an open one. */
  const ensureLink = async (handshake: boolean): Promise<FakeLink> => {
    for (let i = 0; i < 6; i++) {
      const waiting = c.state === 'connecting' && link !== undefined && link === fake.links.at(-1) && !link.closedWith;
      if (link && (handshake ? waiting : c.state === 'open')) return link;
      if (handshake && c.state === 'open' && link) drop(link); // a fresh handshake needs a new link
      if (c.state === 'closed') c.connect();
      clock.advance(1);
      await flushMicrotasks();
      if (c.state === 'connecting' && fake.links.at(-1) !== link) {
        link = fake.last;
        link.open();
        if (!handshake) link.welcome();
        await flushMicrotasks();
      }
    }
    throw new Error(`could not reach ${handshake ? 'a handshake' : 'an open link'}: ${c.state}`);
  };
  for (const { frame, inHandshake } of script) {
    const target = await ensureLink(inHandshake);
    const before = errors.length;
    // A binary message: what the WebSocket adapter turns into a drop with 4400.
    if (typeof frame === 'string') target.push(frame);
    else drop(target, { code: 4400, reason: 'binary frame received' });
    await flushMicrotasks(4);
    for (const e of errors.slice(before)) {
      if (!isSurelinkError(e) || !ERROR_CODES.has(e.code)) fail(`untyped error ${String(e)}`, frame);
    }
    for (const text of target.sent.slice(checked.get(target) ?? 0)) {
      const sent = decodeFrame(text);
      if (sent instanceof Error) fail('client sent an undecodable frame', frame);
      if (sent.type === 'close' && !BAD_INPUT_CODES.has(sent.code)) fail(`client closed with ${sent.code}`, frame);
    }
    checked.set(target, target.sent.length);
    // A link the client left behind is a leaked socket: it must have closed every one it abandoned.
    for (const l of fake.links) {
      if (l !== link && !l.closedWith && !dropped.has(l)) fail('the client abandoned a link without closing it', frame);
    }
    if (openOnDeadLink(link, c.state, dropped)) fail(`the current link is unusable in state ${c.state}`, frame);
    if (c.state === 'closed') {
      // Only a fatal code may stop the client: a refusal, a version mismatch, or a server's 1000.
      const last = errors.at(-1) as { closeCode?: number } | undefined;
      const code = target.closedWith?.code ?? last?.closeCode;
      if (code === undefined || isRetryable(code)) fail(`client stopped after a retryable code ${String(code)}`, frame);
    }
  }
  // Recovery: a new session on a clean link delivers.
  if (c.state === 'open' && link) drop(link);
  const last = await ensureLink(false);
  last.push(encodeFrame({ type: 'event', seq: 1, event: 'n', data: 42 }));
  if (delivered.at(-1) !== 42) throw new Error(`no recovery: state ${c.state}, delivered ${String(delivered.at(-1))}`);
  c.close();
  if (clock.pending !== 0) throw new Error(`${clock.pending} timers left after close()`);
  return script.length;
}

/** Open, yet on a link that was closed or dropped: the client would write into the void. */
function openOnDeadLink(link: FakeLink | undefined, state: string, dropped: ReadonlySet<FakeLink>): boolean {
  return state === 'open' && (link === undefined || link.closedWith !== undefined || dropped.has(link));
}

const step = fc.record({ frame: fuzzedFrame, inHandshake: fc.boolean() });

describe('client fuzzing (scripted transport)', () => {
  it('takes 100,000 fuzzed server frames: typed errors, documented close codes, reconnection, no leaks', async () => {
    let frames = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 50, maxLength: 52 }), async (script) => {
        frames += await runScript(script);
      }),
      { numRuns: 2000 },
    );
    expect(frames).toBeGreaterThanOrEqual(100_000);
    expect(unhandled).toEqual([]);
  }, 180_000);
});
