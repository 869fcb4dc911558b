// The rows of the Node section, in report order; the first is the baseline every ratio refers to.
// `server` names the backend bench/server.mjs attaches; the client side is in bench/clients.mjs.
export const ROWS = [
  { name: 'ws', server: 'ws', label: 'raw `ws` ↔ `ws` server (baseline)' },
  { name: 'surelink-ws', server: 'surelink', label: 'surelink, websocket' },
  { name: 'surelink-sockjs', server: 'surelink', label: 'surelink, sockjs' },
  { name: 'surelink-longpoll', server: 'surelink', label: 'surelink, long polling' },
  { name: 'socketio-ws', server: 'socketio', label: 'socket.io-client, websocket' },
  { name: 'socketio-polling', server: 'socketio', label: 'socket.io-client, polling' },
  { name: 'sockjs', server: 'sockjs', label: 'sockjs-client ↔ sockjs (raw)' },
];

export const BASELINE = 'ws';
export const rowByName = (name) => ROWS.find((r) => r.name === name);
