import type { Clock } from '../util/clock.js';
import type { TransportName } from './transport.js';

/** Remembers which transport worked, so the next page load on that network starts with it. */
export interface TransportMemory {
  recall(): TransportName | undefined;
  remember(name: TransportName): void;
  forget(): void;
}

const names: readonly string[] = ['websocket', 'sockjs', 'longpoll'];

/**
 * A `TransportMemory` on Web Storage with an expiry, after which the preferred order applies again
 * (the network may have changed). Storage errors (quota, private mode) make it forgetful, never
 * failing.
 */
export function webTransportMemory(options: {
  key: string;
  ttlMs: number;
  clock: Clock;
  storage?: Storage | undefined;
}): TransportMemory | undefined {
  const storage = options.storage ?? (globalThis as { localStorage?: Storage }).localStorage;
  if (!storage) return undefined;
  const { key, ttlMs, clock } = options;
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch {
      return undefined;
    }
  };
  return {
    recall() {
      const raw = attempt(() => storage.getItem(key));
      const [name, at] = typeof raw === 'string' ? raw.split('@') : [];
      if (!name || !names.includes(name) || !(clock.now() - Number(at) < ttlMs)) return undefined;
      return name as TransportName;
    },
    remember(name) {
      attempt(() => storage.setItem(key, `${name}@${clock.now()}`));
    },
    forget() {
      attempt(() => storage.removeItem(key));
    },
  };
}

/** The configured order, with the transport that worked last time on this network first. */
export function preferRemembered<F extends { readonly name: TransportName }>(
  factories: readonly F[],
  memory: TransportMemory | undefined,
): readonly F[] {
  const recalled = memory?.recall();
  const hit = factories.find((f) => f.name === recalled);
  return hit ? [hit, ...factories.filter((f) => f !== hit)] : factories;
}

/** The client's memory for `rememberTransport`, keyed by the endpoint (host and path). */
export function memoryFor(
  option: { readonly ttlMs: number; readonly storage: Storage | undefined } | false,
  url: URL,
  clock: Clock,
): TransportMemory | undefined {
  if (!option) return undefined;
  return webTransportMemory({
    key: `surelink:transport:${url.host}${url.pathname}`,
    ttlMs: option.ttlMs,
    clock,
    storage: option.storage,
  });
}
