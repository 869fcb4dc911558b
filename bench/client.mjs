// Bench client process (forked by bench/run.mjs with --expose-gc, pinned to its own core). Waits
// for one command, measures, answers { type: 'result', result } and exits:
//   { cmd: 'run', row, base, config }   one row: floods, client CPU, heap per idle client
//   { cmd: 'rtt', rows, base, config }  every row's echo RTT, the rows connected at once and taking
//                                       turns (blocks of echoes round-robin), so drift hits them alike
// Every wait is bounded; a measurement that times out is reported as an error, not retried.
import { flood, message } from './app.mjs';
import { OPENERS } from './clients.mjs';
import { withTimeout } from './stats.mjs';
import { takeTurns } from './turns.mjs';

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
 * Echo RTT of every row in `rows`, all connected to one server process at once, taking turns
 * (bench/turns.mjs). Returns { [row]: { rttP50, rttP99 } | { error } }.
 */
async function rttAll({ rows, base, config }) {
  const t = config.timeoutMs;
  const out = {};
  const live = new Map();
  const clients = rows.map((row) => [row, OPENERS[row](base)]);
  try {
    await Promise.all(
      clients.map(async ([row, c]) => {
        try {
          await withTimeout(c.ready, t, `${row}: connect`);
          live.set(row, c);
        } catch (error) {
          out[row] = { error: String(error?.stack ?? error) };
        }
      }),
    );
    const connected = rows.filter((row) => live.has(row));
    return { ...out, ...(await takeTurns(connected, config, (row, n) => rtt(live.get(row), n, t))) };
  } finally {
    for (const [, c] of clients) c.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * One row's connection, in a client process of its own, kept for the parent's turns (the isolated
 * RTT phase, bench/processes.mjs): answers `{ cmd: 'echoes', n }` with n round-trip times, until
 * `{ cmd: 'stop' }`. Resolves (answered as the first result) once connected.
 */
async function turns({ row, base, config }) {
  const t = config.timeoutMs;
  const c = OPENERS[row](base);
  await withTimeout(c.ready, t, `${row}: connect`);
  process.on('message', (msg) => {
    if (msg?.cmd === 'echoes')
      rtt(c, msg.n, t).then(
        (result) => process.send({ type: 'result', result }),
        (error) => process.send({ type: 'error', error: String(error?.stack ?? error) }),
      );
    else if (msg?.cmd === 'stop') {
      c.close();
      setTimeout(() => process.exit(0), 50);
    }
  });
  return 'connected';
}

const COMMANDS = { run, rtt: rttAll, turns };

process.on('message', (msg) => {
  const command = COMMANDS[msg?.cmd];
  if (!command) return;
  const once = command(msg)
    .then((result) => process.send({ type: 'result', result }))
    .catch((error) => process.send({ type: 'error', error: String(error?.stack ?? error) }));
  // `turns` stays for the parent's turns (it exits on 'stop'); every other command exits when done.
  if (command !== turns) once.finally(() => setTimeout(() => process.exit(0), 50));
});
process.on('disconnect', () => process.exit(0));
