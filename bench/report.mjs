// Renders BENCHMARKS.md from the runs: medians of every repetition (none dropped), each figure also
// as a ratio to the baseline's median from the same run, the targets of issue 7 with verdicts,
// the browser section, the method and every individual run.
import { BASELINE, rowByName } from './rows.mjs';
import { median } from './stats.mjs';

const CHUNK_NOTE = 'the messages 1,000 per macrotask, yielding with `setImmediate` in between';

const METRICS = [
  { key: 'upRate', head: 'client→server msg/s', unit: 'msg/s', digits: 0 },
  { key: 'downRate', head: 'server→client msg/s', unit: 'msg/s', digits: 0 },
  { key: 'cpuUp', head: 'client CPU µs/msg sending', unit: 'µs/msg', digits: 2 },
  { key: 'cpuDown', head: 'client CPU µs/msg receiving', unit: 'µs/msg', digits: 2 },
  { key: 'rttP50', head: 'RTT p50 ms', unit: 'ms', digits: 3, rtt: true },
  { key: 'rttP99', head: 'RTT p99 ms', unit: 'ms', digits: 3, rtt: true },
  { key: 'heapPerClient', head: 'heap per idle client KB', unit: 'KB', digits: 1, scale: 1 / 1024 },
];

const BROWSER_METRICS = [
  { key: 'rttP50', head: 'RTT p50 ms', digits: 3 },
  { key: 'rttP99', head: 'RTT p99 ms', digits: 3 },
  { key: 'upRate', head: 'client→server msg/s', digits: 0 },
  { key: 'downRate', head: 'server→client msg/s', digits: 0 },
];

/** Target of issue 7: `row`'s `metric` divided by `of`'s, compared with `limit`. */
const TARGETS = [
  {
    what: 'websocket: client CPU per message sent ≤ 1.1× raw',
    row: 'surelink-ws',
    metric: 'cpuUp',
    of: BASELINE,
    max: 1.1,
  },
  {
    what: 'websocket: client CPU per message received ≤ 1.1× raw',
    row: 'surelink-ws',
    metric: 'cpuDown',
    of: BASELINE,
    max: 1.1,
  },
  { what: 'websocket: RTT p50 ≤ 1.1× raw', row: 'surelink-ws', metric: 'rttP50', of: BASELINE, max: 1.1 },
  {
    what: 'websocket, resume acks on: client→server throughput ≥ 0.9× raw',
    row: 'surelink-ws',
    metric: 'upRate',
    of: BASELINE,
    min: 0.9,
  },
  {
    what: 'websocket, resume acks on: server→client throughput ≥ 0.9× raw',
    row: 'surelink-ws',
    metric: 'downRate',
    of: BASELINE,
    min: 0.9,
  },
  {
    what: "long polling: RTT p50 ≤ 0.5× socket.io-client's polling",
    row: 'surelink-longpoll',
    metric: 'rttP50',
    of: 'socketio-polling',
    max: 0.5,
  },
  {
    what: "long polling: client→server flood ≥ 1× socket.io-client's polling",
    row: 'surelink-longpoll',
    metric: 'upRate',
    of: 'socketio-polling',
    min: 1,
  },
  {
    what: "long polling: server→client flood ≥ 1× socket.io-client's polling",
    row: 'surelink-longpoll',
    metric: 'downRate',
    of: 'socketio-polling',
    min: 1,
  },
  {
    what: 'heap per idle client ≤ 1.3× raw `ws` (websocket)',
    row: 'surelink-ws',
    metric: 'heapPerClient',
    of: BASELINE,
    max: 1.3,
  },
];

const fmt = (v, digits, scale = 1) =>
  v == null
    ? '–'
    : (v * scale).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);
const fmtRatio = (r) => (r == null ? '–' : `${r.toFixed(2)}×`);

/** Medians per metric: the RTT ones from the RTT phase's runs, the rest from the row's own runs. */
function medians(runs, rttRuns) {
  const ok = runs.filter((r) => !r.error);
  const rttOk = rttRuns.filter((r) => !r.error);
  const out = {
    n: ok.length,
    errors: runs.length - ok.length,
    rttN: rttOk.length,
    rttErrors: rttRuns.length - rttOk.length,
  };
  for (const { key, rtt } of METRICS) out[key] = median((rtt ? rttOk : ok).map((r) => r[key]));
  return out;
}

function nodeTable(rows, m) {
  const base = m[BASELINE];
  const head = `| row | runs | ${METRICS.map((x) => x.head).join(' | ')} |`;
  const rule = `| --- | ---: | ${METRICS.map(() => '---:').join(' | ')} |`;
  const body = rows.map((name) => {
    const cells = METRICS.map(({ key, digits, scale }) => {
      const v = m[name][key];
      return name === BASELINE ? fmt(v, digits, scale) : `${fmt(v, digits, scale)} (${fmtRatio(ratio(v, base[key]))})`;
    });
    const failed = (n) => (n ? ` (+${n} failed)` : '');
    const runs = `${m[name].n}${failed(m[name].errors)} / ${m[name].rttN}${failed(m[name].rttErrors)}`;
    return `| ${rowByName(name).label} | ${runs} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...body].join('\n');
}

function targetTable(m) {
  const lines = ['| target | measured (medians) | ratio | verdict |', '| --- | --- | ---: | --- |'];
  for (const t of TARGETS) {
    if (!m[t.row] || !m[t.of]) continue;
    const metric = METRICS.find((x) => x.key === t.metric);
    const a = m[t.row][t.metric];
    const b = m[t.of][t.metric];
    const r = ratio(a, b);
    const met = r != null && (t.max !== undefined ? r <= t.max : r >= t.min);
    const measured = `${fmt(a, metric.digits, metric.scale)} vs ${fmt(b, metric.digits, metric.scale)} ${metric.unit}`;
    lines.push(
      // Three decimals: at two, a ratio of 1.104 reads 1.10× next to its "missed" against ≤ 1.1×.
      `| ${t.what} | ${measured} | ${r == null ? '–' : `${r.toFixed(3)}×`} | ${r == null ? 'not measured' : met ? 'met' : '**missed**'} |`,
    );
  }
  return lines.join('\n');
}

function browserSection(browser, browserConfig) {
  if (browser.skipped) return `Skipped: ${browser.skipped}.`;
  const results = browser.results ?? [];
  const names = [...new Set(results.map((r) => r.row))];
  const med = Object.fromEntries(
    names.map((name) => {
      const ok = results.filter((r) => r.row === name && !r.error);
      return [
        name,
        Object.fromEntries([
          ['n', ok.length],
          ...BROWSER_METRICS.map(({ key }) => [key, median(ok.map((r) => r[key]))]),
        ]),
      ];
    }),
  );
  const labels = {
    ws: 'raw WebSocket ↔ `ws` (baseline)',
    'surelink-ws': 'surelink, websocket',
    'surelink-longpoll': 'surelink, long polling',
    'socketio-ws': 'socket.io-client, websocket',
    'socketio-polling': 'socket.io-client, polling',
  };
  const lines = [
    `Chromium, ${browserConfig.rounds} round(s) of every row in turn (medians; ratio to the raw WebSocket of the same run). ` +
      `${browserConfig.echoes} echoes and ${browserConfig.messages.toLocaleString('en-US')}-message floods per row and round. ` +
      `Cross-origin isolated page (performance.now() resolution 5 µs): ${browser.crossOriginIsolated ?? 'unknown'}.`,
    '',
    `| row | runs | ${BROWSER_METRICS.map((x) => x.head).join(' | ')} |`,
    `| --- | ---: | ${BROWSER_METRICS.map(() => '---:').join(' | ')} |`,
  ];
  for (const name of names) {
    const cells = BROWSER_METRICS.map(({ key, digits }) => {
      const v = med[name][key];
      return name === 'ws' ? fmt(v, digits) : `${fmt(v, digits)} (${fmtRatio(ratio(v, med.ws?.[key]))})`;
    });
    lines.push(`| ${labels[name] ?? name} | ${med[name].n} | ${cells.join(' | ')} |`);
  }
  const lp = med['surelink-longpoll'];
  const sio = med['socketio-polling'];
  if (lp && sio) {
    lines.push(
      '',
      `Long polling against socket.io-client's polling in the browser: RTT p50 ${fmtRatio(ratio(lp.rttP50, sio.rttP50))}, ` +
        `client→server ${fmtRatio(ratio(lp.upRate, sio.upRate))}, server→client ${fmtRatio(ratio(lp.downRate, sio.downRate))}.`,
    );
  }
  const failures = results.filter((r) => r.error);
  if (browser.error) lines.push('', `Browser section error: ${browser.error}`);
  for (const f of failures) lines.push('', `Round ${f.round}, ${f.row} failed: \`${f.error.split('\n')[0]}\``);
  return lines.join('\n');
}

function allRuns(rows, runs, rttRuns) {
  const lines = [
    `| row | run | ${METRICS.map((x) => x.head).join(' | ')} |`,
    `| --- | ---: | ${METRICS.map(() => '---:').join(' | ')} |`,
  ];
  const failed = (r) => `failed: \`${r.error.split('\n')[0].slice(0, 120)}\``;
  for (const name of rows) {
    const n = Math.max(runs[name].length, rttRuns[name].length);
    for (let i = 0; i < n; i++) {
      const of = { false: runs[name][i], true: rttRuns[name][i] };
      const errors = new Set();
      const cells = METRICS.map(({ key, digits, scale, rtt }) => {
        const r = of[Boolean(rtt)];
        if (!r) return '';
        if (!r.error) return fmt(r[key], digits, scale);
        if (errors.has(r)) return '';
        errors.add(r);
        return failed(r);
      });
      lines.push(`| ${name} | ${i + 1} | ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

export function renderReport({ config, browserConfig, rows, runs, rttRuns, browser, machine, notes, quick, seconds }) {
  const m = Object.fromEntries(rows.map((name) => [name, medians(runs[name], rttRuns[name])]));
  const env = [
    'BENCH_QUICK',
    'BENCH_REPS',
    'BENCH_ROWS',
    'BENCH_BROWSER',
    'BENCH_OUT',
    'BENCH_RTT_BLOCK',
    'BENCH_RTT_ISOLATE',
  ].filter((k) => process.env[k] !== undefined);
  const command = `${env.map((k) => `${k}=${process.env[k]} `).join('')}npm run bench`;
  const versions = Object.entries(machine.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `# Benchmarks

Generated by \`${command}\` (bench/run.mjs) on ${machine.date} in ${seconds.toFixed(0)} s${quick ? ' — **quick mode: small counts, not for citing**' : ''}. Do not edit by hand: re-run the command.

- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}; ${machine.chromium}
- Pinning: ${machine.pinned}
- Versions: ${versions}; commit ${machine.commit}
${notes.map((n) => `- Note: ${n}\n`).join('')}
## Results

Node, loopback 127.0.0.1, client and server in separate processes. Medians of ${config.reps} repetition(s), each in fresh processes; in parentheses the ratio to the raw \`ws\` baseline's median from this same run. Floods: ${config.messages.toLocaleString('en-US')} messages; RTT: ${config.echoes.toLocaleString('en-US')} sequential echoes per row, every row connected at once and taking turns in blocks of ${config.rttBlock}${config.rttIsolated ? ', each row in a client and a server process of its own' : ''}; heap: ${config.heapClients.toLocaleString('en-US')} idle connected clients. "runs": repetitions measured for floods, CPU and heap / for RTT.

${nodeTable(rows, m)}

### Targets (issue 7)

${targetTable(m)}

socket.io-client over websocket holds ${fmtRatio(ratio(m['socketio-ws']?.heapPerClient, m[BASELINE]?.heapPerClient))} the heap of a raw \`ws\` client per idle connection in this run.

### Browser

${browserSection(browser, browserConfig)}

## Method

- Every row runs the same application (bench/app.mjs): messages are a type and \`{ i, p: "x"×40 }\`, 64 bytes as raw JSON \`["m",{…}]\`; surelink and socket.io carry the type as their event name (surelink's event frame adds a sequence number: 70–75 bytes). The raw rows (\`ws\`, sockjs) parse JSON on both sides, so every row pays for JSON.
- Floods, CPU and heap: each repetition starts a fresh server process (bench/server.mjs) and a fresh client process (bench/client.mjs, \`--expose-gc\`) per row, pinned to separate cores with \`taskset\` where it exists; rows run in turn within a repetition. Warm-up first (two ${config.warmupMessages.toLocaleString('en-US')}-message floods), then: client→server flood (the client sends ${CHUNK_NOTE}; the time runs until the server's \`done\`, which it sends after the last message arrived); server→client flood (the client asks with \`down\` and the time runs until the last message arrived). Client CPU per message is \`process.cpuUsage()\` (user + system) in the client process over a flood, divided by the messages.
- RTT: sequential echoes (the client sends \`e\`, the server sends it back; \`process.hrtime\`). Each repetition ends with ${config.rttIsolated ? "every row's connection open at once, each row in a server process with its backend and a client process of its own (`BENCH_RTT_ISOLATE=1`; pinned as above, the bench passing the turn)" : "one server process holding every row's backend and one client process holding every row's connection at once (pinned as above; with `BENCH_RTT_ISOLATE=1`, each row in processes of its own, so no library's code runs in another's process: four rows share the `ws` package)"}. Each row first gets ${config.warmupEchoes.toLocaleString('en-US')} warm-up echoes (every library's echo path, the raw baseline's included, takes a few thousand round trips to reach its steady speed as V8 optimises it, and the RTT is meant to compare steady speeds); then the rows take turns, ${config.rttBlock} echoes at a time, each round starting one row further on, until each has ${config.echoes.toLocaleString('en-US')}. The machine's drift hits every row alike: measured one row after another in fresh processes (how this bench did it before), the RTT ratios moved by ±20–50% between runs. \`npm run bench:rtt\` (bench/rtt-split.mjs) does the same for four pairs, adding a minimal protocol client against surelink's server and surelink's client against a minimal server, to show which side of surelink costs what.
- Heap per idle client: \`gc()\` until stable, \`heapUsed\` before and after opening the clients (in batches of 100, every one connected, then 200 ms idle), divided by their number. Each library with its defaults (surelink: \`lifecycle: false\` in Node; socket.io-client: \`forceNew\` so each client has its own connection).
- Node clients: \`ws\` for surelink's WebSocket, sockjs-client for its SockJS transport, Node's global \`fetch\` for long polling; socket.io-client with \`transports: ['websocket']\` or \`['polling']\`. surelink's server raises \`maxBufferedFrames\` to 1,000,000 so a flood fits its replay buffer; acknowledgements are on, as always. surelink coalesces the frames its client or server writes in one event-loop tick into one WebSocket/SockJS message (PROTOCOL.md, "Batches": the first frame since the peer spoke or the last batch goes at once, the rest of its tick at the tick's end), while the raw rows and socket.io write one message per send: the floods, whose 1,000 sends per macrotask are such ticks, measure that; the echoes (one message at a time) do not.
- Browser: ${machine.chromium}, launched directly as \`chromium --headless --no-sandbox --disable-gpu --disable-quic …\` with a fresh profile (no DevTools protocol attached), pinned to the client core; the page (bench/browser/) POSTs its results back. surelink is \`dist/surelink.min.js\`, socket.io-client its own \`dist/socket.io.min.js\`.
- Nothing is dropped: every run is in the medians (failed runs are listed below and counted as failed).

## All runs

${allRuns(rows, runs, rttRuns)}
`;
}
