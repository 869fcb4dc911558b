/**
 * What a session sends, checked against what a client accepts. A client refuses a frame over
 * `MAX_FRAME_CHARS` UTF-16 code units with 4413 and ends the session (PROTOCOL.md, "Limits"): one
 * oversize `send` would lose everything in flight both ways, so it is refused at the call instead.
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { MAX_FRAME_CHARS } from '../protocol/codec.js';

/**
 * `["e",seq,` and the closing `]` around an event's name and data, with a 16-digit `seq`: what
 * `broadcast`, which encodes the data once for every session, adds to them.
 */
const EVENT_FRAME_CHARS = 24;

/** Throws an `InvalidArgumentError` naming `what` when a frame of `chars` code units is more than a client takes. */
export function assertFitsClient(what: string, chars: number): void {
  if (chars > MAX_FRAME_CHARS)
    throw new InvalidArgumentError(
      `${what}: a frame of ${chars} characters is over the ${MAX_FRAME_CHARS} a client accepts`,
    );
}

/** The text of event frame `seq`; throws for data JSON cannot encode and for a frame a client would refuse. */
export function encodeEvent(seq: number, event: string, data: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(data === undefined ? ['e', seq, event] : ['e', seq, event, data]);
  } catch (cause) {
    throw new InvalidArgumentError(`session.send("${event}"): data cannot be encoded as JSON`, { cause });
  }
  assertFitsClient(`session.send("${event}")`, text.length);
  return text;
}

/** `broadcast`'s check, before any session gets the frame: its name and data as JSON (`undefined`: none). */
export function assertBroadcastFits(event: string, json: string | undefined): void {
  assertFitsClient(`broadcast("${event}")`, JSON.stringify(event).length + (json?.length ?? 0) + EVENT_FRAME_CHARS);
}
