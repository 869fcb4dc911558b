/**
 * The shared shape of integration tests: servers and clients registered for teardown after each
 * test (in reverse order), and a bounded wait for a condition.
 */
import { afterEach, expect, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import type { EventMap, ValidEventMap, ValidSendMap } from '../../src/client/event-types.js';
import { NodeWebSocket, startServer, type TestServer } from './servers.js';

export function useHarness<SE extends ValidEventMap<SE> = EventMap, CE extends ValidSendMap<CE> & object = EventMap>(
  defaults: ClientOptions = {},
) {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  return {
    /** Runs `fn` after the test, before the resources registered earlier. */
    defer(fn: () => unknown): void {
      cleanup.push(fn);
    },
    async server(options: Parameters<typeof startServer>[0] = {}, port = 0): Promise<TestServer<CE, SE>> {
      const s = await startServer<CE, SE>(options, port);
      cleanup.push(() => s.stop());
      return s;
    },
    client(url: string, options: ClientOptions = {}): RealtimeClient<SE, CE> {
      const c = new RealtimeClient<SE, CE>(url, {
        WebSocket: NodeWebSocket,
        lifecycle: false,
        reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
        ...defaults,
        ...options,
      });
      cleanup.push(() => c.close());
      return c;
    },
  };
}

/** Waits (bounded) until `cond()` holds. */
export const until = (cond: () => boolean, timeout = 8000): Promise<void> =>
  vi.waitFor(() => expect(cond()).toBe(true), { timeout, interval: 10 });

/**
 * Waits until `cond()` holds for as long as `progress()` keeps changing: fails only after
 * `stallMs` without a change, naming the last progress seen. For tests whose work is fixed (N
 * messages, K cuts) and whose speed is the machine's: a loaded machine gets the time it needs,
 * while delivery that stops still fails, with the counts that show where. The stall is counted in
 * polls of 20 ms, not read off the wall clock, so a process that was not scheduled for a while is
 * not taken for a stalled one. Pair it with a test timeout well above the unloaded run time, as a
 * backstop only.
 */
export async function untilWhileProgressing(
  cond: () => boolean,
  progress: () => string,
  stallMs = 10_000,
): Promise<void> {
  const POLL_MS = 20;
  let last = progress();
  let still = 0;
  while (!cond()) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = progress();
    if (now !== last) [last, still] = [now, 0];
    else if (++still * POLL_MS >= stallMs) throw new Error(`no progress for ${stallMs} ms: ${now}`);
  }
}
