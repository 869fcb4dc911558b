// Chat over the script-tag bundle: `Surelink` is the global defined by /dist/surelink.min.js.
// The bundle leaves SockJS out (a page adds sockjs-client's own <script> to get it), so this page
// falls back from WebSocket straight to long polling.
const { RealtimeClient } = Surelink;

const wsUrl = new URL('/realtime', location.href);
wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
const client = new RealtimeClient(wsUrl.href, { transports: ['websocket', 'longpoll'] });

const stateEl = document.getElementById('state');
const transportEl = document.getElementById('transport');
const messagesEl = document.getElementById('messages');
const form = document.getElementById('chat');
const input = document.getElementById('text');

/** Adds one line; text goes in through textContent only, never as HTML. */
function show(text, from) {
  const item = document.createElement('li');
  if (from === undefined) {
    item.className = 'note';
  } else {
    const who = document.createElement('span');
    who.className = 'from';
    who.textContent = from;
    item.append(who);
  }
  item.append(document.createTextNode(text));
  messagesEl.append(item);
  messagesEl.scrollTop = messagesEl.scrollHeight;
}

client.on('state', ({ to }) => {
  stateEl.textContent = to;
  stateEl.dataset.state = to;
  transportEl.textContent = client.transport ? `over ${client.transport}` : '';
});
client.on('open', ({ transport, resumed }) =>
  show(`connected over ${transport}${resumed ? ' (session resumed)' : ''}`),
);
client.on('close', ({ code, reason, willReconnect }) =>
  show(`disconnected (${code}${reason ? `: ${reason}` : ''})${willReconnect ? ', reconnecting…' : ''}`),
);
client.on('error', (error) => show(`error: ${error.message}`));
client.on('chat', ({ from, text }) => show(text, from));

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  const result = client.send('chat', { text });
  if (result === 'queued') show('not connected: your message is queued and goes out on reconnect');
  if (result === 'dropped') show('not sent: the client is closed');
  input.value = '';
});

document.getElementById('echo').addEventListener('click', async () => {
  const sentAt = performance.now();
  try {
    await client.request('echo', { sentAt }, { timeoutMs: 10_000 });
    show(`echo answered in ${Math.round(performance.now() - sentAt)} ms`);
  } catch (error) {
    show(`echo failed: ${error.message}`);
  }
});
