/**
 * Sending side of batches (PROTOCOL.md, "Batches"): the frames written in one tick travel in one
 * transport message, so a burst costs one write instead of one per frame. Shared by the client's
 * link and the server's WebSocket and SockJS connections.
 */

/** Largest batch a reference sender builds, in UTF-16 code units, whatever the peer accepts. */
export const MAX_BATCH_CHARS = 1 << 16;

/**
 * Characters a batch may hold for a peer that accepts `peerBytes` bytes: a code unit is at most 3
 * bytes of UTF-8, so the batch never exceeds the peer's limit.
 */
export function batchChars(peerBytes: number): number {
  return Math.min(MAX_BATCH_CHARS, Math.floor(peerBytes / 3));
}

/** Coalesces frames into messages; see {@link batcher}. */
export interface Batcher {
  /** Sends one frame: at once when it is the first of its tick, else with the next batch. */
  push(text: string): void;
  /** Writes what is pending now (before a close frame, say). */
  flush(): void;
}

/** Resolved once: `then` on it is the cheapest microtask (Node's `queueMicrotask` allocates per call). */
const tick = Promise.resolve();

/**
 * Coalesces frames into messages: one frame goes as it is, several as `[f1,f2,…]`. The first frame
 * of a tick goes at once, so a lone message waits for nothing; the ones that follow in the same
 * tick wait for a microtask and go together. A batch is also written when the next frame would
 * take it to `maxChars` (a larger frame still goes, alone) and by `flush()`. Order is kept.
 * `write` decides whether the connection can still take it: a batch may be due after it closed.
 */
export function batcher(write: (text: string) => void, maxChars: number): Batcher {
  let frames: string[] = [];
  /** Length of the message the frames make as a batch: brackets and commas included. */
  let chars = 1;
  /** A frame went out in this tick: the next ones wait for the microtask. */
  let busy = false;
  const flush = (): void => {
    const f = frames;
    if (f.length === 0) return;
    frames = [];
    chars = 1;
    write(f.length > 1 ? `[${f.join(',')}]` : (f[0] as string));
  };
  return {
    push(text) {
      if (!busy) {
        busy = true;
        void tick.then(() => {
          busy = false;
          flush();
        });
        return write(text);
      }
      if (chars + text.length >= maxChars) flush();
      frames.push(text);
      chars += text.length + 1;
    },
    flush,
  };
}
