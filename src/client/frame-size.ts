/**
 * Whether an outgoing frame fits what the server takes. A frame the server refuses for size ends
 * the session (4413), everything in flight with it, so the client checks before it sends: against
 * the largest frame the server announced in its welcome (`f`, else `b`), in the UTF-8 bytes it
 * counts, and before any welcome against the protocol's default, 1 MiB.
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { MAX_FRAME_CHARS } from '../protocol/codec.js';

/**
 * Code units of data below which a frame cannot exceed `maxBytes`: at most 3 bytes a unit for the
 * data, 6 a unit for a name of up to 256 (JSON escapes control characters as \u00XX) and 48 for the
 * rest: `["q",seq,id,`, the name's quotes, `,` and `]` with 16-digit numbers, and the `[` `]` of a
 * long-polling body that holds the frame alone. Below it (348,997 units for 1 MiB) nothing is
 * counted: a send pays one comparison.
 */
const unitsUnder = (maxBytes: number): number => (maxBytes - 1584) / 3;

/**
 * The error `send()` and `request()` throw for data over `maxBytes`, and a queued request over it
 * fails with (the start of the name only: in raw mode it is the whole message).
 */
export const tooLarge = (event: string, maxBytes: number): InvalidArgumentError =>
  new InvalidArgumentError(`'${event.slice(0, 64)}' is over ${maxBytes} bytes`);

/**
 * Whether the frame of an entry whose data is `json` may be over `maxBytes` as UTF-8 (an upper
 * bound, see `unitsUnder`). Bytes are counted only for data over `unitsUnder(maxBytes)` code units,
 * so a small message counts none. (`undefined > n` and `n > NaN` are false: no data, or no limit.)
 */
export function overBytes(event: string, json: string | undefined, maxBytes: number | undefined): boolean {
  return (
    (json?.length as number) > unitsUnder(maxBytes as number) &&
    new TextEncoder().encode(json).length + 6 * event.length + 48 > (maxBytes as number)
  );
}

/**
 * Approximate size of an entry on the wire, in characters. Also the one place that proves its frame
 * fits: the protocol's limit in UTF-16 code units (`MAX_FRAME_CHARS`) and, given `maxBytes`, the
 * UTF-8 bytes the server takes; throws `InvalidArgumentError` when it does not. `maxBytes`
 * is given only as an entry is appended: one restored after a reload may come from a client that
 * counted code units, and a throw half-way through `restore` would lose what this page appended
 * meanwhile (the welcome takes such entries out instead: `OutboundLog.limit`).
 */
export function sizeOf(event: string, json: string | undefined, maxBytes?: number): number {
  const size = event.length + (json?.length ?? 0) + 16;
  if (size > MAX_FRAME_CHARS || overBytes(event, json, maxBytes)) throw tooLarge(event, maxBytes ?? MAX_FRAME_CHARS);
  return size;
}
