// The browser section of `npm run bench`, run by headless Chromium (launched directly, no DevTools
// attached). Same application as bench/app.mjs; results are POSTed to /results. Every wait is bounded.
(() => {
  const params = new URLSearchParams(location.search);
  const N = Number(params.get('n')) || 2000;
  const K = Number(params.get('k')) || 100;
  const ROUNDS = Number(params.get('rounds')) || 1;
  const TIMEOUT = Number(params.get('timeout')) || 20000;
  const ROWS = (params.get('rows') || 'ws,surelink-ws,surelink-longpoll,socketio-ws,socketio-polling').split(',');
  const PAD = 'x'.repeat(40);
  const CHUNK = 1000;
  const host = location.host;
  const logEl = document.getElementById('log');
  const log = (line) => (logEl.textContent += `${line}\n`);
  const post = (body) => fetch('/results', { method: 'POST', body: JSON.stringify(body) });
  const message = (i) => ({ i, p: PAD });

  /** A macrotask without setTimeout's 4 ms clamp. */
  const nextTask = () =>
    new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(0);
    });

  function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  function slots(listen) {
    const handlers = {};
    return (type, fn) => {
      if (!(type in handlers)) listen(type, (data) => handlers[type](data));
      handlers[type] = fn;
    };
  }

  function rawWebSocket() {
    const ws = new WebSocket(`ws://${host}/ws`);
    const handlers = {};
    ws.onmessage = (ev) => {
      const [type, data] = JSON.parse(ev.data);
      if (handlers[type]) handlers[type](data);
    };
    return {
      ready: new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('WebSocket error'));
      }),
      send: (type, data) => ws.send(JSON.stringify([type, data])),
      on: (type, fn) => void (handlers[type] = fn),
      close: () => ws.close(),
    };
  }

  function surelink(transport) {
    return () => {
      const client = new Surelink.RealtimeClient(`ws://${host}/realtime`, {
        transports: [transport],
        rememberTransport: false,
      });
      return {
        ready: client.waitFor('open', { timeoutMs: TIMEOUT }),
        send: (type, data) => client.send(type, data),
        on: slots((type, dispatch) => client.on(type, dispatch)),
        close: () => client.close(),
      };
    };
  }

  function socketio(transport) {
    return () => {
      const socket = io(location.origin, { transports: [transport], forceNew: true });
      return {
        ready: new Promise((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        }),
        send: (type, data) => socket.emit(type, data),
        on: slots((type, dispatch) => socket.on(type, dispatch)),
        close: () => socket.close(),
      };
    };
  }

  const OPENERS = {
    ws: rawWebSocket,
    'surelink-ws': surelink('websocket'),
    'surelink-longpoll': surelink('longpoll'),
    'socketio-ws': socketio('websocket'),
    'socketio-polling': socketio('polling'),
  };

  async function flood(send, type, n) {
    for (let i = 0; i < n;) {
      const end = Math.min(n, i + CHUNK);
      for (; i < end; i++) send(type, message(i));
      if (i < n) await nextTask();
    }
  }

  async function rtt(c, count) {
    const samples = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const back = new Promise((resolve) => c.on('e', resolve));
      c.send('e', message(i));
      await withTimeout(back, TIMEOUT, 'echo');
      samples.push(performance.now() - t0);
    }
    return samples.sort((a, b) => a - b);
  }

  async function floodUp(c, n) {
    const done = new Promise((resolve) => c.on('done', resolve));
    const t0 = performance.now();
    c.send('up', { n });
    void flood(c.send, 'm', n);
    await withTimeout(done, TIMEOUT, 'flood up');
    return n / ((performance.now() - t0) / 1000);
  }

  async function floodDown(c, n) {
    let got = 0;
    let finish;
    const done = new Promise((resolve) => (finish = resolve));
    c.on('d', () => ++got === n && finish());
    const t0 = performance.now();
    c.send('down', { n });
    await withTimeout(done, TIMEOUT, 'flood down');
    return n / ((performance.now() - t0) / 1000);
  }

  const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

  async function measure(row) {
    const c = OPENERS[row]();
    try {
      await withTimeout(c.ready, TIMEOUT, 'connect');
      await rtt(c, Math.min(50, K));
      await floodUp(c, Math.min(1000, N));
      await floodDown(c, Math.min(1000, N));
      const samples = await rtt(c, K);
      const upRate = await floodUp(c, N);
      const downRate = await floodDown(c, N);
      return { rttP50: pct(samples, 50), rttP99: pct(samples, 99), upRate, downRate };
    } finally {
      c.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function main() {
    const results = [];
    log(`crossOriginIsolated: ${self.crossOriginIsolated}`);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const row of ROWS) {
        try {
          const r = await measure(row);
          results.push({ round, row, ...r });
          log(`${round} ${row} ${JSON.stringify(r)}`);
        } catch (error) {
          results.push({ round, row, error: String(error && error.stack ? error.stack : error) });
          log(`${round} ${row} ERROR ${error}`);
        }
      }
    }
    await post({
      type: 'done',
      userAgent: navigator.userAgent,
      crossOriginIsolated: self.crossOriginIsolated,
      results,
    });
  }

  main().catch((error) => post({ type: 'done', error: String(error), results: [] }));
})();
