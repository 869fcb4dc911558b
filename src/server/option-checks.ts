/**
 * Checks of single option values for {@link resolveOptions}: each throws an InvalidArgumentError
 * naming the option, at construction, rather than a value read as something it was not.
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { MAX_DELAY_MS } from '../util/clock.js';
import type { Clock } from '../util/clock.js';

export function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new InvalidArgumentError(`createRealtimeServer: ${name} must be a positive integer, got ${shown(value)}`);
  return v;
}

/**
 * A duration a timer will hold: Node runs a `setTimeout` above 2^31-1 ms after 1 ms (with a
 * warning), which would expire every session at once or ping every millisecond.
 */
export function delay(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > MAX_DELAY_MS)
    throw new InvalidArgumentError(
      `createRealtimeServer: ${name} must be an integer from ${min} to ${MAX_DELAY_MS} ms, got ${shown(value)}`,
    );
  return v;
}

/**
 * An option that takes an object (null or undefined: the defaults). Anything else read as the
 * defaults, without a word: `heartbeat: 5` was a 20 s heartbeat, `logger: 'console'` silence.
 */
export function objectOption<T extends object>(name: string, value: T | null | undefined): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new InvalidArgumentError(`createRealtimeServer: ${name} must be an object, got ${shown(value)}`);
  return value;
}

/** A clock without its methods failed with a TypeError at its first timer, in a socket callback. */
export function clockOption(value: Clock | null | undefined): Clock | undefined {
  const clock = objectOption('clock', value);
  const methods = ['now', 'setTimeout', 'clearTimeout'] as const;
  if (clock && !methods.every((m) => typeof clock[m] === 'function'))
    throw new InvalidArgumentError(
      'createRealtimeServer: clock must be an object with now, setTimeout and clearTimeout',
    );
  return clock;
}

/** A bad option value for a message: a string quoted, or "got 5" would read as a valid number. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'function' ? 'a function' : String(value);
}
