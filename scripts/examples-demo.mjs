// What the reference realtime server does for the example pages:
//   echo            request handler: answers with the data it got (chat's Echo button, tests)
//   chat            a session's message, broadcast to every session as { from, text, at }
//   prices:subscribe  the session gets a 'prices' snapshot now and every `tickMs` after
//   lab:message     recorded (GET /lab/received shows the log) and confirmed with 'lab:received'
//   lab:request     request handler: recorded like lab:message (so a test counts how often the
//                   server ran it), confirmed with 'lab:received' too, answers { n }

const MAX_CHAT_CHARS = 500;
const MAX_LAB_TEXT = 200;
/** Entries kept in the lab log; the oldest go first, so a long-running server stays small. */
const MAX_LAB_LOG = 1000;

/** The price board's instruments and where their prices start. */
const INSTRUMENTS = [
  ['ACME', 112.4],
  ['GLOBX', 48.15],
  ['INITECH', 23.9],
  ['UMBRL', 301.2],
  ['STARK', 187.75],
  ['WAYNE', 76.3],
  ['TYRELL', 9.42],
  ['CYBRD', 54.6],
];

/**
 * Attaches the demo to a realtime server.
 * @param {import('../dist/server.js').RealtimeServer} realtime
 * @param {{ tickMs?: number }} [options]
 * @returns {{ received(): readonly { session: string, n: number, text: string, at: number }[], close(): void }}
 */
export function attachDemo(realtime, { tickMs = 500 } = {}) {
  const prices = priceFeed();
  const subscribers = new Set();
  const labLog = [];

  realtime.handle('echo', (data) => data);
  realtime.handle('lab:request', (message, session) => {
    const n = record(session, message);
    session.send('lab:received', { n });
    return { n };
  });
  realtime.on('connection', (session) => {
    const from = session.id.slice(0, 6);
    session.on('chat', (message) => {
      const text = typeof message?.text === 'string' ? message.text.trim().slice(0, MAX_CHAT_CHARS) : '';
      if (text) realtime.broadcast('chat', { from, text, at: Date.now() });
    });
    session.on('prices:subscribe', () => {
      subscribers.add(session);
      session.send('prices', prices.snapshot());
    });
    session.on('lab:message', (message) => session.send('lab:received', { n: record(session, message) }));
    session.on('end', () => subscribers.delete(session));
  });
  /** Logs a 'lab:message' or 'lab:request' for GET /lab/received; returns its `n`. */
  function record(session, message) {
    const n = Number.isSafeInteger(message?.n) ? message.n : 0;
    const text = typeof message?.text === 'string' ? message.text.slice(0, MAX_LAB_TEXT) : '';
    labLog.push({ session: session.id.slice(0, 6), n, text, at: Date.now() });
    if (labLog.length > MAX_LAB_LOG) labLog.shift();
    return n;
  }
  realtime.on('error', (error) => console.error('realtime server:', error));

  const ticker = setInterval(() => {
    prices.move();
    if (subscribers.size === 0) return;
    const tick = prices.snapshot();
    for (const session of subscribers) session.send('prices', tick);
  }, tickMs);

  return {
    received: () => labLog.slice(),
    close: () => clearInterval(ticker),
  };
}

/** A random walk per instrument; `change` is relative to the opening price. */
function priceFeed() {
  const quotes = INSTRUMENTS.map(([symbol, open]) => ({ symbol, open, price: open }));
  return {
    move() {
      for (const quote of quotes) {
        if (Math.random() < 0.4) continue; // not every instrument trades every tick
        const step = quote.price * (Math.random() - 0.5) * 0.01;
        quote.price = Math.max(0.01, Math.round((quote.price + step) * 100) / 100);
      }
    },
    snapshot() {
      return {
        at: Date.now(),
        quotes: quotes.map(({ symbol, open, price }) => ({
          symbol,
          price,
          change: Math.round(((price - open) / open) * 10_000) / 100,
        })),
      };
    },
  };
}
