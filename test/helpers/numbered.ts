/** Numbered message streams: the exactly-once, in-order check used by delivery and fault tests. */

/** Checks a received sequence: 1..n exactly once, in order. */
export function verdict(got: readonly number[], n: number): { lost: number; duplicated: number; reordered: number } {
  let lost = 0;
  let duplicated = 0;
  let reordered = 0;
  const seen = new Set<number>();
  for (const [i, v] of got.entries()) {
    if (seen.has(v)) duplicated++;
    else if (i > 0 && v < (got[i - 1] as number)) reordered++;
    seen.add(v);
  }
  for (let i = 1; i <= n; i++) if (!seen.has(i)) lost++;
  return { lost, duplicated, reordered };
}

/** Sends 1..total in bursts on a timer, so cuts land mid-stream; returns a stop function. */
export function pump(send: (n: number) => void, total: number, perTick: number, everyMs = 10): () => void {
  let next = 1;
  const timer = setInterval(() => {
    for (let i = 0; i < perTick && next <= total; i++) send(next++);
    if (next > total) clearInterval(timer);
  }, everyMs);
  return () => clearInterval(timer);
}
