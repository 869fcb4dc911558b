import { describe, expect, it } from 'vitest';
import { MAX_BATCH_CHARS, batchChars, batcher, encodeBatch, takeBatch } from '../../src/protocol/batch.js';

/** Lets pending microtasks (the batcher's end of tick) run. */
const endOfTick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function recorder(maxChars = MAX_BATCH_CHARS) {
  const written: string[] = [];
  return { written, batch: batcher((text) => written.push(text), maxChars) };
}

describe('batch helpers', () => {
  it('encodes frames as one JSON array and takes at least one frame per batch, in order', () => {
    expect(encodeBatch(['["a",1]', '["a",2]'])).toBe('[["a",1],["a",2]]');
    const queue = ['["a",1]', '["a",2]', '["a",3]'];
    // Room for two 7-character frames (it counts a separator per frame, so one more than `[f1,f2]`).
    expect(takeBatch(queue, 18)).toEqual(['["a",1]', '["a",2]']);
    expect(takeBatch(queue, 1)).toEqual(['["a",3]']);
    expect(queue).toEqual([]);
  });

  it('sizes batches for a peer limit in bytes: 3 bytes per UTF-16 unit at most, capped', () => {
    expect(batchChars(3000)).toBe(1000);
    expect(batchChars(1 << 20)).toBe(MAX_BATCH_CHARS);
    expect(batchChars(2)).toBe(0);
  });
});

describe('batcher', () => {
  it('writes the first frame of a tick at once and the rest of the tick as one batch', async () => {
    const { written, batch } = recorder();
    batch.push('["e",1,"a"]');
    expect(written).toEqual(['["e",1,"a"]']);
    batch.push('["e",2,"a"]');
    batch.push('["e",3,"a"]');
    expect(written).toHaveLength(1);
    await endOfTick();
    expect(written).toEqual(['["e",1,"a"]', '[["e",2,"a"],["e",3,"a"]]']);
  });

  it('writes a reply at once: once the peer spoke, the next frame goes at once again', () => {
    const { written, batch } = recorder();
    batch.push('["a",1]');
    batch.inbound();
    batch.push('["a",2]');
    batch.inbound();
    batch.push('["a",3]');
    expect(written).toEqual(['["a",1]', '["a",2]', '["a",3]']);
  });

  it('batches what follows a frame sent at once in an earlier tick, the peer silent since, until the end of its tick', async () => {
    const { written, batch } = recorder();
    batch.push('["a",1]');
    await endOfTick();
    batch.push('["a",2]');
    batch.push('["a",3]');
    expect(written).toEqual(['["a",1]']);
    await endOfTick();
    expect(written).toEqual(['["a",1]', '[["a",2],["a",3]]']);
    // A batch went: the next frame goes at once, and an inbound message while a batch waits changes nothing.
    batch.push('["a",4]');
    batch.push('["a",5]');
    batch.inbound();
    batch.push('["a",6]');
    expect(written.at(-1)).toBe('["a",4]');
    await endOfTick();
    expect(written.at(-1)).toBe('[["a",5],["a",6]]');
  });

  it('sends a lone follower as a plain frame, and starts afresh in the next tick', async () => {
    const { written, batch } = recorder();
    batch.push('["a",1]');
    batch.push('["a",2]');
    await endOfTick();
    batch.push('["a",3]');
    await endOfTick();
    expect(written).toEqual(['["a",1]', '["a",2]', '["a",3]']);
  });

  it('keeps every batch within the limit, and a frame larger than it goes alone', async () => {
    const { written, batch } = recorder(20);
    const big = `["e",9,"${'x'.repeat(30)}"]`;
    for (const text of ['["a",0]', '["a",1]', '["a",2]', '["a",3]', big, '["a",4]']) batch.push(text);
    await endOfTick();
    expect(written).toEqual(['["a",0]', '[["a",1],["a",2]]', '["a",3]', big, '["a",4]']);
    for (const text of written.slice(1)) if (text !== big) expect(text.length).toBeLessThanOrEqual(20);
  });

  it('flush() writes what waits now, in order, and the end of the tick then has nothing left', async () => {
    const { written, batch } = recorder();
    batch.push('["a",1]');
    batch.push('["a",2]');
    batch.push('["a",3]');
    batch.flush();
    expect(written).toEqual(['["a",1]', '[["a",2],["a",3]]']);
    await endOfTick();
    expect(written).toHaveLength(2);
  });

  it('does not hold a huge burst in one list: it goes in batches as it grows', async () => {
    const { written, batch } = recorder();
    for (let i = 1; i <= 3000; i++) batch.push(`["a",${i}]`);
    expect(written.length).toBeGreaterThan(1);
    await endOfTick();
    const frames = written.flatMap((text) =>
      text.startsWith('[[') ? (JSON.parse(text) as unknown[]) : [JSON.parse(text)],
    );
    expect(frames).toEqual(Array.from({ length: 3000 }, (_, i) => ['a', i + 1]));
  });

  it('keeps batching when a write throws: the next tick still ends', async () => {
    const written: string[] = [];
    let fail = true;
    const batch = batcher((text) => {
      if (fail) {
        fail = false;
        throw new Error('socket gone');
      }
      written.push(text);
    }, MAX_BATCH_CHARS);
    expect(() => batch.push('["a",1]')).toThrow('socket gone');
    batch.push('["a",2]');
    await endOfTick();
    batch.push('["a",3]');
    expect(written).toEqual(['["a",2]', '["a",3]']);
  });
});
