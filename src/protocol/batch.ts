/**
 * Batches (PROTOCOL.md, "Batches"): several frames in one transport message, `[f1,f2,…]`. The
 * long-polling bodies are built the same way. Shared by the client's link and long-polling
 * transport and by the server's WebSocket and SockJS connections.
 */

import { MAX_BATCH_CHARS } from './limits.js';

export { MAX_BATCH_CHARS };

/** `[frame,frame,...]`, where each frame is already JSON text. */
export function encodeBatch(frames: readonly string[]): string {
  return `[${frames.join(',')}]`;
}

/** Removes and returns the frames of the next message: at least one, in order, up to `maxChars`. */
export function takeBatch(queue: string[], maxChars: number = MAX_BATCH_CHARS): string[] {
  let size = 2;
  let count = 0;
  for (const frame of queue) {
    if (count > 0 && size + frame.length + 1 > maxChars) break;
    size += frame.length + 1;
    count++;
  }
  return queue.splice(0, count);
}

/**
 * Code units a batch may hold for a peer that accepts messages of `peerBytes` bytes (its `b`):
 * at 3 bytes per unit at most, a batch never exceeds the peer's limit.
 */
export function batchChars(peerBytes: number): number {
  return Math.min(MAX_BATCH_CHARS, Math.floor(peerBytes / 3));
}

/** Coalesces the frames written in one tick; see {@link batcher}. */
export interface Batcher {
  /** Sends one frame: at once when it is the first since the peer spoke or a batch went, else at its tick's end. */
  push(text: string): void;
  /** The peer spoke (a message arrived): the next frame, a reply, goes at once. */
  inbound(): void;
  /** Writes what is waiting now (before a close frame, say). */
  flush(): void;
}

/** Frames one tick may queue before they go anyway (so a huge burst never waits in one list). */
const MAX_QUEUED = 1024;

/**
 * Coalesces frames into messages. A frame goes at once when it is the first since the peer spoke
 * (`inbound()`) or a batch went, so a reply waits for nothing and arms nothing;
 * one that follows it, in that tick or a later one, waits with the rest of its tick for a
 * microtask, and they go together as batches of at most `maxChars` (a larger frame goes alone).
 * So a burst costs one microtask, and an echo none (a microtask per message was a measurable share
 * of a round trip). Order is kept. `write` decides whether the connection can still take a
 * message: one may be due after it closed.
 */
export function batcher(write: (text: string) => void, maxChars: number): Batcher {
  /**
   * Frames waiting for the end of this tick; `null` once a frame went at once and neither the
   * peer spoke nor a batch went since; `undefined` when the next frame goes at once.
   */
  let queue: string[] | null | undefined;
  const flush = (): void => {
    const frames = queue ?? [];
    queue = undefined;
    while (frames[0] !== undefined) {
      const batch = takeBatch(frames, maxChars);
      write(batch.length > 1 ? encodeBatch(batch) : (batch[0] as string));
    }
  };
  return {
    push(text) {
      if (queue) {
        if (queue.push(text) >= MAX_QUEUED) flush();
        return;
      }
      if (queue === undefined) {
        queue = null;
        return write(text);
      }
      queue = [text];
      // A resolved promise's `then` is the cheapest microtask (Node's queueMicrotask allocates more).
      void Promise.resolve().then(flush);
    },
    inbound() {
      if (queue === null) queue = undefined;
    },
    flush,
  };
}
