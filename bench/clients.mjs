// The Node clients of every row, behind one shape:
//   const c = open(base); await c.ready; c.send(type, data); c.on(type, fn); c.close();
// Each uses its library the way its README shows, with defaults except what Node needs.
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { RealtimeClient } from '../dist/index.js';

const require = createRequire(import.meta.url);

/**
 * `on(type, fn)` that replaces the previous handler of `type` (as the raw rows do with their own
 * table): the library gets one listener per type, the first time.
 */
function handlerSlots(listen) {
  const handlers = {};
  return (type, fn) => {
    if (!(type in handlers)) listen(type, (data) => handlers[type](data));
    handlers[type] = fn;
  };
}

/** A promise that `subscribe(resolve, reject)` wires to the library's open and error events. */
function readyOf(subscribe) {
  return new Promise((resolve, reject) => subscribe(resolve, reject));
}

function rawWs(base) {
  const ws = new WebSocket(`ws://${base}/ws`);
  const handlers = {};
  ws.on('message', (buf) => {
    const [type, data] = JSON.parse(buf.toString());
    handlers[type]?.(data);
  });
  return {
    ready: readyOf((ok, fail) => {
      ws.once('open', ok);
      ws.once('error', fail);
    }),
    send: (type, data) => ws.send(JSON.stringify([type, data])),
    on: (type, fn) => void (handlers[type] = fn),
    close: () => ws.close(),
  };
}

function surelink(transport) {
  const injected = { websocket: { WebSocket }, sockjs: { SockJS: require('sockjs-client') }, longpoll: {} }[transport];
  return (base) => {
    const client = new RealtimeClient(`ws://${base}/realtime`, {
      transports: [transport],
      lifecycle: false,
      ...injected,
    });
    return {
      ready: client.waitFor('open', { timeoutMs: 30_000 }),
      send: (type, data) => client.send(type, data),
      on: handlerSlots((type, dispatch) => client.on(type, dispatch)),
      close: () => client.close(),
    };
  };
}

function socketio(transport) {
  const { io } = require('socket.io-client');
  return (base) => {
    // forceNew: io() shares one connection per URL otherwise, and the heap test wants 1,000.
    const socket = io(`http://${base}`, { transports: [transport], forceNew: true });
    return {
      ready: readyOf((ok, fail) => {
        socket.once('connect', ok);
        socket.once('connect_error', fail);
      }),
      send: (type, data) => socket.emit(type, data),
      on: handlerSlots((type, dispatch) => socket.on(type, dispatch)),
      close: () => socket.close(),
    };
  };
}

function rawSockjs(base) {
  const SockJS = require('sockjs-client');
  const sock = new SockJS(`http://${base}/sockjs`);
  const handlers = {};
  sock.onmessage = (ev) => {
    const [type, data] = JSON.parse(ev.data);
    handlers[type]?.(data);
  };
  return {
    ready: readyOf((ok, fail) => {
      sock.onopen = ok;
      sock.onclose = (ev) => fail(new Error(`sockjs closed ${ev.code} ${ev.reason}`));
    }),
    send: (type, data) => sock.send(JSON.stringify([type, data])),
    on: (type, fn) => void (handlers[type] = fn),
    close: () => sock.close(),
  };
}

/** Row name (bench/rows.mjs) -> how its client opens a connection to `base` (host:port). */
export const OPENERS = {
  ws: rawWs,
  'surelink-ws': surelink('websocket'),
  'surelink-sockjs': surelink('sockjs'),
  'surelink-longpoll': surelink('longpoll'),
  'socketio-ws': socketio('websocket'),
  'socketio-polling': socketio('polling'),
  sockjs: rawSockjs,
};
