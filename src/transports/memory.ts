/**
 * Remembers which transport worked, so the next page load on that network starts with it: one
 * Web Storage entry per endpoint (host and path), `name@time`, with an expiry after which the
 * configured order applies again (the network may have changed). Storage errors (quota, private
 * mode, a sandboxed frame) make it forgetful, never failing. Plain functions over the client's
 * option: an idle client holds nothing for it.
 */
import type { Clock } from '../util/clock.js';
import type { TransportName } from './transport.js';

/** `options.rememberTransport` as resolved. */
type MemoryOption = { readonly ttlMs: number; readonly storage: Storage | undefined } | false;

/** Runs `op` on the endpoint's entry; `undefined` when disabled, without storage, or on an error. */
function entry<T>(option: MemoryOption, url: string, op: (storage: Storage, key: string) => T): T | undefined {
  try {
    const storage = option && (option.storage ?? (globalThis as { localStorage?: Storage }).localStorage);
    if (!storage) return undefined;
    const { host, pathname } = new URL(url);
    return op(storage, `surelink:transport:${host}${pathname}`);
  } catch {
    return undefined;
  }
}

/** The name remembered for the endpoint, unless expired. */
function remembered(option: MemoryOption, url: string, clock: Clock): string | undefined {
  // Split inside `entry`: a custom storage may hand back a non-string, which must not throw here.
  const [name, at] = entry(option, url, (s, key) => s.getItem(key)?.split('@')) ?? [];
  // Not a time ahead of the clock (set back since, or garbage): no longer renewed on use, it would outlive ttlMs.
  return option && Math.abs(clock.now() - Number(at)) < option.ttlMs ? name : undefined;
}

/** The configured order, with the transport that worked last time on this network first. */
export function preferRemembered<F extends { readonly name: TransportName }>(
  factories: readonly F[],
  option: MemoryOption,
  url: string,
  clock: Clock,
): readonly F[] {
  const name = remembered(option, url, clock);
  // Only a name among the factories counts, so a stale or foreign entry is ignored.
  const hit = factories.find((f) => f.name === name);
  return hit ? [hit, ...factories.filter((f) => f !== hit)] : factories;
}

/**
 * Remembers `name` as the transport that worked, or forgets it with `undefined` (the preferred one
 * worked; an expired entry is left, as it is ignored). One already remembered keeps its time:
 * renewed on every connect on it, it would never expire for a page opened daily, and without an
 * upgrade probe (`upgrade: false`, raw mode) the client would stay on the fallback for good after
 * the network changed.
 */
export function rememberTransport(
  option: MemoryOption,
  url: string,
  clock: Clock,
  name: TransportName | undefined,
): void {
  if (name !== remembered(option, url, clock))
    entry(option, url, (s, key) => (name ? s.setItem(key, `${name}@${clock.now()}`) : s.removeItem(key)));
}
