// Bench client process (forked by bench/run.mjs with --expose-gc, pinned to its own core). Waits
// for one command, measures, answers { type: 'result', result } and exits:
//   { cmd: 'run', row, base, config }   one row: floods, client CPU, heap per idle client
//   { cmd: 'rtt', rows, base, config }  every row's echo RTT, the rows connected at once and taking
//                                       turns (blocks of echoes round-robin), so drift hits them alike
// Every wait is bounded; a measurement that times out is reported as an error, not retried.
import { flood, message } from './app.mjs';
import { OPENERS } from './clients.mjs';
import { percentile, withTimeout } from './stats.mjs';

const hr = () => Number(process.hrtime.bigint()) / 1e6; // ms
const cpuMicros = (since) => {
  const d = process.cpuUsage(since);
  return d.user + d.system;
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Sequential echoes; returns the round-trip times in ms. One timer bounds the whole run: a timer
 * per echo would add its own cost to every sample (the same for every row, which flattens ratios).
 */
async function rtt(c, count, timeoutMs) {
  const samples = [];
  let fail;
  const timer = setTimeout(
    () => fail?.(new Error(`rtt: ${samples.length} of ${count} echoes in ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    for (let i = 0; i < count; i++) {
      const t0 = hr();
      await new Promise((resolve, reject) => {
        fail = reject;
        c.on('e', resolve);
        c.send('e', message(i));
      });
      samples.push(hr() - t0);
    }
  } finally {
    clearTimeout(timer);
  }
  return samples;
}

/** Client -> server: send n messages (CHUNK per macrotask) until the server says it has all. */
async function floodUp(c, n, timeoutMs) {
  const done = new Promise((resolve) => c.on('done', resolve));
  const cpu = process.cpuUsage();
  const t0 = hr();
  c.send('up', { n });
  flood(c.send, 'm', n);
  await withTimeout(done, timeoutMs, 'flood up');
  const ms = hr() - t0;
  return { rate: n / (ms / 1000), cpuPerMsg: cpuMicros(cpu) / n };
}

/** Server -> client: ask for n messages and count them in. */
async function floodDown(c, n, timeoutMs) {
  let got = 0;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  c.on('d', () => ++got === n && finish());
  const cpu = process.cpuUsage();
  const t0 = hr();
  c.send('down', { n });
  await withTimeout(done, timeoutMs, 'flood down');
  const ms = hr() - t0;
  return { rate: n / (ms / 1000), cpuPerMsg: cpuMicros(cpu) / n };
}

async function settledHeap() {
  for (let i = 0; i < 4; i++) {
    global.gc();
    await tick();
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  global.gc();
  return process.memoryUsage().heapUsed;
}

/** Heap per idle connected client: N clients opened in batches, heapUsed after/before GC. */
async function heapPerClient(open, base, count, timeoutMs) {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  const before = await settledHeap();
  const clients = [];
  const deadline = hr() + timeoutMs;
  for (let i = 0; i < count; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 100); j++) batch.push(open(base));
    clients.push(...batch);
    await withTimeout(Promise.all(batch.map((c) => c.ready)), Math.max(1, deadline - hr()), `heap: ${count} clients`);
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // handshakes' leftovers become garbage
  const after = await settledHeap();
  for (const c of clients) c.close();
  return (after - before) / count;
}

async function run({ row, base, config }) {
  const open = OPENERS[row];
  const t = config.timeoutMs;
  const c = open(base);
  await withTimeout(c.ready, t, 'connect');
  // Warm-up: the JIT and every code path (the measured runs follow at once).
  await floodUp(c, config.warmupMessages, t);
  await floodDown(c, config.warmupMessages, t);
  await tick();
  const up = await floodUp(c, config.messages, t);
  await tick();
  const down = await floodDown(c, config.messages, t);
  c.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const heap = config.heapClients > 0 ? await heapPerClient(open, base, config.heapClients, t * 2) : null;
  return {
    upRate: up.rate,
    downRate: down.rate,
    cpuUp: up.cpuPerMsg,
    cpuDown: down.cpuPerMsg,
    heapPerClient: heap,
  };
}

/**
 * Echo RTT of every row in `rows`, all connected to one server process at once. Each row first gets
 * `warmupEchoes` (every library's echo path, the raw baseline's included, takes a few thousand round
 * trips to reach its steady speed as V8 optimises it), then the rows take turns: blocks of
 * `rttBlock` echoes, round-robin, each round starting one row further on, until every row has
 * `echoes` samples. Returns { [row]: { rttP50, rttP99 } | { error } }: one row failing leaves the
 * others measured.
 */
async function rttAll({ rows, base, config }) {
  const t = config.timeoutMs;
  const live = [];
  const out = {};
  const clients = rows.map((row) => ({ row, c: OPENERS[row](base), samples: [] }));
  try {
    await Promise.all(
      clients.map(async (entry) => {
        try {
          await withTimeout(entry.c.ready, t, `${entry.row}: connect`);
          live.push(entry);
        } catch (error) {
          out[entry.row] = { error: String(error?.stack ?? error) };
        }
      }),
    );
    live.sort((a, b) => rows.indexOf(a.row) - rows.indexOf(b.row));
    const fail = (entry, error) => {
      out[entry.row] = { error: String(error?.stack ?? error) };
      live.splice(live.indexOf(entry), 1);
    };
    for (const entry of [...live]) await rtt(entry.c, config.warmupEchoes, t).catch((error) => fail(entry, error));
    const rounds = Math.ceil(config.echoes / config.rttBlock);
    for (let round = 0; round < rounds; round++) {
      const order = [...live.slice(round % live.length), ...live.slice(0, round % live.length)];
      for (const entry of order) {
        const n = Math.min(config.rttBlock, config.echoes - entry.samples.length);
        await rtt(entry.c, n, t).then(
          (samples) => entry.samples.push(...samples),
          (error) => fail(entry, error),
        );
      }
    }
    for (const { row, samples } of live)
      out[row] = { rttP50: percentile(samples, 50), rttP99: percentile(samples, 99) };
    return out;
  } finally {
    for (const { c } of clients) c.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const COMMANDS = { run, rtt: rttAll };

process.on('message', (msg) => {
  const command = COMMANDS[msg?.cmd];
  if (!command) return;
  command(msg)
    .then((result) => process.send({ type: 'result', result }))
    .catch((error) => process.send({ type: 'error', error: String(error?.stack ?? error) }))
    .finally(() => setTimeout(() => process.exit(0), 50));
});
process.on('disconnect', () => process.exit(0));
