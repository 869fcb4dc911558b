/**
 * Request bodies of the long-polling endpoint (PROTOCOL.md, "Long polling"): reading them within a
 * limit, the options of an opening POST, and cutting a POST body `[frame,frame,…]` into the text of
 * each frame without decoding it (the session decodes every frame anyway, as it does a WebSocket
 * message; parsing the body and re-encoding each frame cost more than the session's own decoding).
 */
import type { IncomingMessage } from 'node:http';

export const tooLarge = Symbol('too large');

/** Deepest nesting of arrays and objects in a POST body (the body's own array included). */
export const MAX_BODY_DEPTH = 4096;

/** The body as text; `tooLarge` past `maxBytes` (the rest is discarded); undefined if the client left. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string | typeof tooLarge | undefined> {
  return new Promise((resolve) => {
    if (Number(req.headers['content-length']) > maxBytes) {
      req.resume();
      return resolve(tooLarge);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else resolve(tooLarge);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('close', () => resolve(undefined)); // after 'end' this is a no-op
    req.once('error', () => resolve(undefined));
  });
}

/** Whether an opening POST's body is `{"n":1,…}`: the client takes numbered batches. */
export function asksForNumbers(body: string | typeof tooLarge): boolean {
  if (body === tooLarge || body === '') return false;
  try {
    const options = JSON.parse(body) as unknown;
    return typeof options === 'object' && options !== null && (options as { n?: unknown }).n === 1;
  } catch {
    return false;
  }
}

const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * The text of each element of `[frame,frame,…]`, in order; `undefined` when the body is not a JSON
 * array whose elements are arrays (`[…]`, brackets balanced outside strings) or nests deeper than
 * `MAX_BODY_DEPTH`. What is inside each element is not checked here: it is one frame's text, and
 * an element that is not a valid frame is bad input as on any transport.
 */
export function splitFrames(body: string): string[] | undefined {
  const frames: string[] = [];
  let i = skipSpace(body, 0);
  if (body.charCodeAt(i) !== OPEN) return undefined;
  i = skipSpace(body, i + 1);
  if (body.charCodeAt(i) === CLOSE) return skipSpace(body, i + 1) === body.length ? frames : undefined;
  for (;;) {
    if (body.charCodeAt(i) !== OPEN) return undefined;
    const end = elementEnd(body, i);
    if (end < 0) return undefined;
    frames.push(body.slice(i, end));
    i = skipSpace(body, end);
    const c = body.charCodeAt(i);
    if (c === CLOSE) return skipSpace(body, i + 1) === body.length ? frames : undefined;
    if (c !== COMMA) return undefined;
    i = skipSpace(body, i + 1);
  }
}

/** Index just past the array starting at `start`, strings skipped; -1 when unbalanced or too deep. */
function elementEnd(body: string, start: number): number {
  let depth = 1; // the body's own array
  for (let i = start; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < body.length; i++) {
        const d = body.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === OPEN || c === OPEN_OBJECT) {
      if (++depth > MAX_BODY_DEPTH) return -1;
    } else if ((c === CLOSE || c === CLOSE_OBJECT) && --depth === 1) return i + 1;
  }
  return -1;
}

/** The index of the first character at or after `i` that is not JSON whitespace. */
function skipSpace(body: string, i: number): number {
  for (; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
  }
  return i;
}
