// The transport lab: one client, its live status, a timeline of its events, and controls that
// break the link in the ways real networks do. Server controls are the /lab/ endpoints of
// scripts/examples-lab.mjs; "offline" is simulated through the client's `lifecycle` option.
import { RealtimeClient, webStorageStore } from '/dist/index.js';

const TRANSPORTS = {
  auto: ['websocket', 'sockjs', 'longpoll'],
  websocket: ['websocket'],
  sockjs: ['sockjs'],
  longpoll: ['longpoll'],
};
const MAX_TIMELINE = 300;
const STATUS_EVERY_MS = 250;
const PING_EVERY_MS = 2000;

const $ = (id) => document.getElementById(id);
const realtimeUrl = new URL('/realtime', location.href);
realtimeUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
const startedAt = performance.now();

// ---- Timeline ------------------------------------------------------------------------------

/** Adds one entry at the top; every piece goes in as text, never as HTML. */
function log(kind, text, detail = '') {
  const item = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = `+${((performance.now() - startedAt) / 1000).toFixed(3)} s`;
  const label = document.createElement('span');
  label.className = 'kind';
  label.dataset.kind = kind;
  label.textContent = kind;
  const body = document.createElement('span');
  body.textContent = text;
  if (detail) {
    const more = document.createElement('span');
    more.className = 'detail';
    more.textContent = ` · ${detail}`;
    body.append(more);
  }
  item.append(time, label, body);
  $('timeline').prepend(item);
  while ($('timeline').children.length > MAX_TIMELINE) $('timeline').lastElementChild.remove();
}

// ---- Simulated offline -----------------------------------------------------------------------
// The client listens for online/offline on `lifecycle.window` and reads `lifecycle.navigator.onLine`.
// Here both combine the browser's real network state with the "Simulate offline" switch.

const network = new EventTarget();
let simulatedOffline = false;
let reportedOnline = navigator.onLine;

function networkChanged() {
  const online = navigator.onLine && !simulatedOffline;
  if (online === reportedOnline) return;
  reportedOnline = online;
  network.dispatchEvent(new Event(online ? 'online' : 'offline'));
}
for (const type of ['online', 'offline']) {
  window.addEventListener(type, () => {
    log('browser', `the browser reports ${type}`);
    networkChanged();
  });
}
const isNetworkEvent = (type) => type === 'online' || type === 'offline';
const lifecycle = {
  window: {
    addEventListener: (type, fn) => (isNetworkEvent(type) ? network : window).addEventListener(type, fn),
    removeEventListener: (type, fn) => (isNetworkEvent(type) ? network : window).removeEventListener(type, fn),
  },
  document,
  navigator: {
    get onLine() {
      return reportedOnline;
    },
  },
};

// ---- The client ------------------------------------------------------------------------------

let client;
const requested = new URLSearchParams(location.search).get('transport');
let mode = Object.hasOwn(TRANSPORTS, requested ?? '') ? requested : 'auto';
let sent = 0;
let confirmed = 0;

/**
 * Creates the client for `mode`; its queue and session live in sessionStorage, so they survive a
 * reload. One storage key per mode: `close()` forgets the stored session only a moment later, so
 * a client created at once under the same key would pick up the closed one's session.
 */
function connect() {
  client = new RealtimeClient(realtimeUrl.href, {
    transports: TRANSPORTS[mode],
    lifecycle,
    queue: { storage: webStorageStore(sessionStorage), storageKey: `surelink:lab:${mode}` },
    rememberTransport: mode === 'auto' ? {} : false,
  });
  window.client = client; // for the DevTools console
  client.on('state', ({ from, to, reason }) => log('state', `${from} → ${to}`, reason));
  client.on('open', ({ transport, resumed }) => {
    log('open', `open over ${transport}`, resumed ? 'session resumed' : 'new session');
    measureRtt();
  });
  client.on('close', ({ code, reason, willReconnect }) =>
    log('close', `link closed, code ${code}`, `${reason || 'no reason'}${willReconnect ? ', will reconnect' : ''}`),
  );
  client.on('reconnecting', ({ attempt, delayMs }) => log('reconnecting', `attempt ${attempt} in ${delayMs} ms`));
  client.on('transport', ({ from, to }) => log('transport', `${from ?? 'none'} → ${to}`));
  client.on('error', (error) => log('error', error.message, error.code));
  client.on('queue:overflow', ({ dropped }) => log('error', `queue full: dropped ${dropped.length}`));
  client.on('queue:expired', ({ expired }) => log('error', `expired in the queue: ${expired.length}`));
  client.on('queue:oversize', ({ oversize, maxFrameBytes }) =>
    log('error', `over the server's ${maxFrameBytes} bytes, not sent: ${oversize.length}`),
  );
  client.on('lab:received', ({ n }) => {
    confirmed++;
    log('server', `server received message #${n}`);
  });
  log('client', `new client, transports: ${TRANSPORTS[mode].join(' → ')}`);
}

function changeMode(next) {
  const undelivered = client.close();
  log('client', 'closed the previous client', `${undelivered.length} message(s) not confirmed`);
  mode = next;
  const url = new URL(location.href);
  if (mode === 'auto') url.searchParams.delete('transport');
  else url.searchParams.set('transport', mode);
  history.replaceState(null, '', url);
  connect();
}

/** Message numbers stay unique in this tab across reloads, like the queue they travel in. */
function nextMessageNumber() {
  const n = Number(sessionStorage.getItem('surelink:lab:n') ?? 0) + 1;
  sessionStorage.setItem('surelink:lab:n', String(n));
  return n;
}

// ---- Status ----------------------------------------------------------------------------------

function renderStatus() {
  $('state').textContent = client.state;
  $('state-badge').textContent = simulatedOffline ? `${client.state} (offline)` : client.state;
  $('state-badge').dataset.state = client.state;
  $('transport').textContent = client.transport ?? '–';
  $('rtt').textContent = client.rtt === undefined ? '–' : `${Math.round(client.rtt)} ms`;
  $('queued').textContent = String(client.queued);
  $('counts').textContent = `${sent} / ${confirmed}`;
}

/** `client.rtt` is updated by pings: one now, then every PING_EVERY_MS. */
function measureRtt() {
  if (client.state === 'open') client.ping().catch(() => {}); // a drop during the ping shows in the timeline
}

setInterval(renderStatus, STATUS_EVERY_MS);
setInterval(measureRtt, PING_EVERY_MS);

// ---- Controls --------------------------------------------------------------------------------

async function labRequest(method, path) {
  const res = await fetch(path, { method });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return res.json();
}

$('cut').addEventListener('click', async () => {
  try {
    const { cut } = await labRequest('POST', '/lab/cut');
    log('lab', `server cut ${cut} connection(s)`);
  } catch (error) {
    log('error', `could not reach the server: ${error.message}`);
  }
});

$('refuse').addEventListener('change', async (event) => {
  const on = event.target.checked;
  try {
    const { refuseUpgrades } = await labRequest('POST', `/lab/refuse-upgrades?on=${on ? 1 : 0}`);
    log('lab', refuseUpgrades ? 'server now refuses WebSocket upgrades' : 'server accepts WebSocket upgrades again');
  } catch (error) {
    event.target.checked = !on;
    log('error', `could not reach the server: ${error.message}`);
  }
});

$('offline').addEventListener('change', (event) => {
  simulatedOffline = event.target.checked;
  log('lab', simulatedOffline ? 'simulating offline' : 'simulated offline ended');
  networkChanged();
});

$('mode').addEventListener('change', (event) => changeMode(event.target.value));

$('send-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const n = nextMessageNumber();
  const result = client.send('lab:message', { n, text: $('text').value });
  sent++;
  log('send', `message #${n}: ${result}`, result === 'queued' ? 'goes out when the link is back' : '');
  renderStatus();
});

$('clear').addEventListener('click', () => $('timeline').replaceChildren());

// ---- Start -----------------------------------------------------------------------------------

$('mode').value = mode;
connect();
renderStatus();
labRequest('GET', '/lab/status').then(
  ({ refuseUpgrades }) => ($('refuse').checked = refuseUpgrades),
  (error) => log('error', `could not read the lab status: ${error.message}`),
);
