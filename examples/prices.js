// Live prices over the ESM build. The server sends 'prices' ({ at, quotes: [{ symbol, price,
// change }] }) to every session that sent 'prices:subscribe': once at once, then on every tick.
import { RealtimeClient } from '/dist/index.js';

const wsUrl = new URL('/realtime', location.href);
wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
const client = new RealtimeClient(wsUrl.href, { transports: ['websocket', 'sockjs', 'longpoll'] });

const stateEl = document.getElementById('state');
const transportEl = document.getElementById('transport');
const quotesEl = document.getElementById('quotes');
const summaryEl = document.getElementById('summary');
const rows = new Map();
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
let updates = 0;

client.on('state', ({ to }) => {
  stateEl.textContent = to;
  stateEl.dataset.state = to;
  transportEl.textContent = client.transport ? `over ${client.transport}` : '';
});
// A resumed session is still subscribed; a new one (first connect, or the old one expired) is not.
client.on('open', ({ resumed }) => {
  if (!resumed) client.send('prices:subscribe', {});
});

/** The table row of one symbol, created on first sight; cells are filled with textContent only. */
function rowFor(symbol) {
  let row = rows.get(symbol);
  if (row) return row;
  const tr = document.createElement('tr');
  tr.dataset.symbol = symbol;
  const [name, price, change] = ['name', 'price', 'change'].map((className) => {
    const td = document.createElement('td');
    td.className = className;
    tr.append(td);
    return td;
  });
  name.textContent = symbol;
  quotesEl.append(tr);
  row = { tr, price, change, last: undefined };
  rows.set(symbol, row);
  return row;
}

function render({ at, quotes }) {
  for (const { symbol, price, change } of quotes) {
    const row = rowFor(symbol);
    if (row.last !== undefined && row.last !== price) flash(row.tr, price > row.last ? 'up' : 'down');
    row.last = price;
    row.price.textContent = money.format(price);
    row.change.textContent = `${change > 0 ? '+' : ''}${change.toFixed(2)} %`;
    row.change.dataset.sign = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
  }
  updates++;
  summaryEl.textContent = `${updates} updates · last at ${new Date(at).toLocaleTimeString()}`;
}

/** Restarts the row's highlight animation. */
function flash(tr, direction) {
  tr.classList.remove('up', 'down');
  void tr.offsetWidth; // a reflow in between, or the browser would not restart the animation
  tr.classList.add(direction);
}

/** Renders every tick until the client closes (the stream then ends). */
async function follow() {
  for await (const tick of client.stream('prices')) render(tick);
}

follow();
