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
