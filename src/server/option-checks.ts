/**
 * Checks of single option values for {@link resolveOptions}: each throws an InvalidArgumentError
 * naming the option, at construction, rather than a value read as something it was not.
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { MAX_DELAY_MS } from '../util/clock.js';

/**
 * The smallest `maxFrameBytes` and `longPoll.maxBodyBytes` taken. Every connection starts with a
 * `hello` that must fit: about 80 bytes with a resume token, plus the auth token (a JWT is often
 * several hundred bytes). A smaller limit refused every client with 4413 at connect.
 */
export const MIN_FRAME_BYTES = 1024;

export function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min)
    throw new InvalidArgumentError(
      `createRealtimeServer: ${name} must be ${min > 1 ? `an integer of at least ${min}` : 'a positive integer'}, got ${shown(value)}`,
    );
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

/**
 * An object option whose methods the server calls: a clock without them failed with a TypeError at
 * its first timer, in a socket callback; a logger without them was silence (each call threw, caught).
 */
export function withMethods<T extends object>(
  name: string,
  value: T | null | undefined,
  methods: readonly (keyof T & string)[],
): T | undefined {
  const o = objectOption(name, value);
  if (o && !methods.every((m) => typeof o[m] === 'function'))
    throw new InvalidArgumentError(
      `createRealtimeServer: ${name} must be an object with ${methods.slice(0, -1).join(', ')} and ${methods.at(-1)}`,
    );
  return o;
}

/** A bad option value for a message: a string quoted, or "got 5" would read as a valid number. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'function' ? 'a function' : String(value);
}
