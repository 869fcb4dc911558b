/**
 * Driving a `ManualClock` against real sockets: time moves in steps, and real I/O runs between
 * them, so a test asserts what happened at which clock time instead of measuring the wall clock
 * of a busy machine. Every wait here is bounded in count and in real time.
 */
import type { ClientState } from '../../src/client/event-types.js';
import type { ManualClock } from './manual-clock.js';

/** What `reopen` needs of a client. */
interface Reopening {
  readonly state: ClientState;
  on(event: 'open', handler: (info: { resumed: boolean }) => void): () => void;
}

/** Clock time moved per step. */
export const STEP_MS = 50;

/** A few event-loop turns of real time: bytes already written on loopback get read meanwhile. */
export const settle = (ms = 10): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Moves `clock` on by `ms` in steps of at most `STEP_MS`, letting real I/O run after each. */
export async function advanceInSteps(clock: ManualClock, ms: number): Promise<void> {
  for (let moved = 0; moved < ms; moved += STEP_MS) {
    clock.advance(Math.min(STEP_MS, ms - moved));
    await settle();
  }
}

/**
 * Lets `client` (on `clock`) reconnect: the clock moves only while it waits out a backoff, so a
 * connect attempt that is slow in real time never runs into its clock-driven connect timeout.
 * Resolves with the next `open`; fails after `steps` turns without one.
 */
export async function reopen(client: Reopening, clock: ManualClock, steps = 800): Promise<{ resumed: boolean }> {
  let opened: { resumed: boolean } | undefined;
  const off = client.on('open', (info) => (opened = info));
  try {
    for (let i = 0; i < steps && !opened; i++) {
      if (client.state === 'reconnecting') clock.advance(STEP_MS);
      await settle();
    }
  } finally {
    off();
  }
  if (!opened) throw new Error(`no open after ${steps} steps (state ${client.state})`);
  return opened;
}

/**
 * Stops a server whose clock a test moves: `close()` waits for connections to finish their close
 * handshake and terminates the stragglers after a while of its clock, which would never come.
 * Call it (from the test's teardown) before the server's own `stop()`.
 */
export function closeOnClock(server: { readonly rt: { close(): Promise<void> } }, clock: ManualClock): Promise<void> {
  const closing = server.rt.close();
  clock.advance(60_000);
  return closing;
}
