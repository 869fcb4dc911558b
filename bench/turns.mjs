// The RTT phase's turn-taking, shared by the two ways of running it: every row connected at once,
// each first warmed up, then blocks of `rttBlock` echoes round-robin, each round starting one row
// further on, until every row has `echoes` samples; so the machine's drift hits every row alike.
import { percentile } from './stats.mjs';

/**
 * `rows`: the connected rows, in report order. `echoes(row, n)` resolves with n round-trip times
 * (ms). Returns { [row]: { rttP50, rttP99 } | { error } }: a row that fails leaves the others measured.
 */
export async function takeTurns(rows, config, echoes) {
  const out = {};
  const samples = new Map(rows.map((row) => [row, []]));
  const live = [...rows];
  const fail = (row, error) => {
    out[row] = { error: String(error?.stack ?? error) };
    live.splice(live.indexOf(row), 1);
  };
  for (const row of [...live]) await echoes(row, config.warmupEchoes).catch((error) => fail(row, error));
  const rounds = Math.ceil(config.echoes / config.rttBlock);
  for (let round = 0; round < rounds; round++) {
    const order = [...live.slice(round % live.length), ...live.slice(0, round % live.length)];
    for (const row of order) {
      const n = Math.min(config.rttBlock, config.echoes - samples.get(row).length);
      await echoes(row, n).then(
        (got) => samples.get(row).push(...got),
        (error) => fail(row, error),
      );
    }
  }
  for (const row of live) {
    const s = samples.get(row);
    out[row] = { rttP50: percentile(s, 50), rttP99: percentile(s, 99) };
  }
  return out;
}
