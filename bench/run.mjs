// `npm run bench` (which builds first): surelink side by side with raw `ws`, socket.io-client and
// sockjs-client on Node loopback, plus a browser section in headless Chromium; writes
// BENCHMARKS.md. See BENCHMARKS.md ("Method") for what is measured and how.
//
// Environment:
//   BENCH_QUICK=1        small counts, one repetition, report to .tmp/BENCHMARKS.quick.md (for development)
//   BENCH_REPS=n         repetitions of the Node section (default 5; quick 1)
//   BENCH_ROWS=a,b       only these rows (the baseline `ws` is always added)
//   BENCH_BROWSER=0      skip the browser section
//   BENCH_OUT=path       where to write the report (default BENCHMARKS.md; quick: .tmp/BENCHMARKS.quick.md)
//   BENCH_RTT_BLOCK=n    echoes per row's turn in the RTT phase (default 50); at the echo count, each row
//                        runs all its echoes in one turn, after the rows before it: steadier per row, but
//                        the machine's drift between rows is no longer shared
//   BENCH_RTT_ISOLATE=1  the RTT phase runs each row in a client and a server process of its own (still
//                        taking turns), instead of all rows in one pair: no library's code runs in
//                        another's process (four rows share the `ws` package)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBrowserSection } from './browser.mjs';
import { describeMachine } from './machine.mjs';
import { ROW_NAMES, runNodeRow, runRttIsolated, runRttPhase, stopAll } from './processes.mjs';
import { renderReport } from './report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env.BENCH_QUICK === '1';
const started = Date.now();
/**
 * The whole run (after the build) stays under this: a row gets what is left of it (less the browser
 * section's reserve), later rows are skipped and the report says so.
 */
const BUDGET_MS = quick ? 180_000 : 500_000;
const BROWSER_RESERVE_MS = quick ? 40_000 : 90_000;

const config = quick
  ? {
      reps: 1,
      messages: 5_000,
      warmupMessages: 1_000,
      echoes: 200,
      rttBlock: 50,
      warmupEchoes: 1_000,
      heapClients: 200,
      timeoutMs: 20_000,
    }
  : {
      reps: 5,
      messages: 20_000,
      warmupMessages: 2_000,
      echoes: 1_000,
      // The rows take turns in blocks of this many echoes (bench/client.mjs `rtt`).
      rttBlock: 50,
      // V8 needs a few thousand round trips before an echo path runs at its steady speed (the raw
      // baseline's RTT falls about 2x over its first 3,000 echoes): time the echoes after that.
      warmupEchoes: 5_000,
      heapClients: 1_000,
      timeoutMs: 30_000,
    };
if (process.env.BENCH_REPS) config.reps = Math.max(1, Math.min(10, Number(process.env.BENCH_REPS) || 1));
config.rttIsolated = process.env.BENCH_RTT_ISOLATE === '1';
if (process.env.BENCH_RTT_BLOCK)
  config.rttBlock = Math.max(1, Math.min(config.echoes, Number(process.env.BENCH_RTT_BLOCK) || config.rttBlock));
const browserConfig = quick
  ? { rounds: 1, messages: 2_000, echoes: 100, timeoutMs: 40_000 }
  : { rounds: 3, messages: 10_000, echoes: 300, timeoutMs: 80_000 };

const wanted = process.env.BENCH_ROWS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const rows = ROW_NAMES.filter((r) => r === 'ws' || !wanted || wanted.includes(r));
const out = process.env.BENCH_OUT ?? (quick ? '.tmp/BENCHMARKS.quick.md' : 'BENCHMARKS.md');
const elapsed = () => Date.now() - started;
const log = (...args) => console.log(`[bench ${(elapsed() / 1000).toFixed(0).padStart(3)}s]`, ...args);

async function main() {
  const runs = Object.fromEntries(rows.map((r) => [r, []]));
  const rttRuns = Object.fromEntries(rows.map((r) => [r, []]));
  const notes = [];
  const left = () => BUDGET_MS - BROWSER_RESERVE_MS - elapsed();
  for (let rep = 1; rep <= config.reps; rep++) {
    for (const row of rows) {
      if (left() <= 0) {
        notes.push(`time budget reached: ${row} repetition ${rep} and later ones skipped`);
        break;
      }
      const result = await runNodeRow(row, config, Math.max(5_000, left()));
      runs[row].push(result);
      log(`rep ${rep}/${config.reps} ${row}:`, result.error ? `ERROR ${result.error.split('\n')[0]}` : summary(result));
    }
    if (left() <= 0) {
      notes.push(`time budget reached: RTT of repetition ${rep} skipped`);
      continue;
    }
    const rttPhase = config.rttIsolated ? runRttIsolated : runRttPhase;
    const rtt = await rttPhase(rows, config, Math.max(5_000, left()));
    for (const row of rows) rttRuns[row].push(rtt[row] ?? { error: 'not measured' });
    log(`rep ${rep}/${config.reps} RTT p50/p99 ms:`, rows.map((row) => `${row} ${rttSummary(rtt[row])}`).join(', '));
  }
  let browser = { skipped: 'BENCH_BROWSER=0' };
  if (process.env.BENCH_BROWSER !== '0') {
    browser = await runBrowserSection(browserConfig, log);
    log('browser:', browser.error ?? browser.skipped ?? `${browser.results?.length ?? 0} results`);
  }
  const machine = describeMachine();
  const report = renderReport({
    config,
    browserConfig,
    rows,
    runs,
    rttRuns,
    browser,
    machine,
    notes,
    quick,
    seconds: elapsed() / 1000,
  });
  mkdirSync(path.dirname(path.resolve(root, out)), { recursive: true });
  writeFileSync(path.resolve(root, out), await formatted(report, path.resolve(root, out)));
  log(`wrote ${out}`);
  console.log(report.slice(report.indexOf('## Results'), report.indexOf('## Method')));
}

/** The report as `npm run format` would leave it (tables aligned), so the format check passes. */
async function formatted(markdown, file) {
  try {
    const prettier = await import('prettier');
    return await prettier.format(markdown, { ...(await prettier.resolveConfig(file)), filepath: file });
  } catch (error) {
    log(`prettier unavailable, report left unformatted: ${error.message}`);
    return markdown;
  }
}

function summary(r) {
  const f = (v, d = 0) => (v == null ? '-' : v.toFixed(d));
  return `up ${f(r.upRate)}/s down ${f(r.downRate)}/s cpu ${f(r.cpuUp, 2)}/${f(r.cpuDown, 2)} µs heap ${f(r.heapPerClient / 1024, 1)} KB`;
}

function rttSummary(r) {
  return !r || r.error
    ? `ERROR ${(r?.error ?? 'none').split('\n')[0]}`
    : `${r.rttP50.toFixed(3)}/${r.rttP99.toFixed(3)}`;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}
process.on('exit', stopAll);

main().then(
  () => {
    stopAll();
  },
  (error) => {
    console.error(error);
    stopAll();
    process.exitCode = 1;
  },
);
