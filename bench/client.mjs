// Bench client process (forked by bench/run.mjs with --expose-gc, pinned to its own core). Waits
// for { cmd: 'run', row, base, config }, measures, answers { type: 'result', result } and exits.
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

/** Sequential echoes; returns the round-trip times in ms. */
async function rtt(c, count, timeoutMs) {
  const samples = [];
  const deadline = hr() + timeoutMs;
  for (let i = 0; i < count; i++) {
    if (hr() > deadline) throw new Error(`rtt: ${i} of ${count} echoes in ${timeoutMs} ms`);
    const t0 = hr();
    const back = new Promise((resolve) => c.on('e', resolve));
    c.send('e', message(i));
    await withTimeout(back, timeoutMs, 'echo');
    samples.push(hr() - t0);
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
  // Warm-up: the JIT and every code path (the measured runs follow at once). The echoes come last,
  // right before the measured ones: a library that batches floods runs its per-message path far
  // less often in a flood, and would otherwise time its echoes on colder code than one that does not.
  await floodUp(c, config.warmupMessages, t);
  await floodDown(c, config.warmupMessages, t);
  await tick();
  await rtt(c, config.warmupEchoes, t);
  const r = await rtt(c, config.echoes, t);
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
    rttP50: percentile(r, 50),
    rttP99: percentile(r, 99),
    heapPerClient: heap,
  };
}

process.on('message', (msg) => {
  if (msg?.cmd !== 'run') return;
  run(msg)
    .then((result) => process.send({ type: 'result', result }))
    .catch((error) => process.send({ type: 'error', error: String(error?.stack ?? error) }))
    .finally(() => setTimeout(() => process.exit(0), 50));
});
process.on('disconnect', () => process.exit(0));
