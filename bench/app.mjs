// The benchmark's tiny application, the same for every library: messages are (type, data) pairs.
// On the wire of the raw rows (ws, sockjs) a message is JSON `[type, data]`; surelink and
// socket.io carry the type as their event name. With `data = { i, p: PAD }` the raw text is 64
// bytes, a surelink event frame 70-75, a socket.io packet 66-70.
//
// client -> server  'up' { n }     the next n 'm' messages are a flood; answer 'done' after the n-th
//                   'm'  data      one flood message
//                   'e'  data      echo: the server sends 'e' back with the same data
//                   'down' { n }   the server sends n 'd' messages
// server -> client  'done', 'e', 'd'

export const PAD = 'x'.repeat(40);

/** Messages sent per macrotask in a flood; both sides yield in between, as a real app would. */
export const CHUNK = 1000;

/** A 64-byte raw message: `["m",{"i":12345,"p":"xxx…"}]`. */
export const message = (i) => ({ i, p: PAD });

/** Sends `n` messages of `type` through `send`, CHUNK per macrotask. */
export function flood(send, type, n, onDone = () => {}) {
  let i = 0;
  const step = () => {
    const end = Math.min(n, i + CHUNK);
    for (; i < end; i++) send(type, message(i));
    if (i < n) setImmediate(step);
    else onDone();
  };
  step();
}

/** The server side of the application for one connection; returns the inbound handler. */
export function serverApp(send) {
  let expected = 0;
  let received = 0;
  return (type, data) => {
    switch (type) {
      case 'up':
        expected = data.n;
        received = 0;
        return;
      case 'm':
        if (++received === expected) send('done', { n: received });
        return;
      case 'e':
        send('e', data);
        return;
      case 'down':
        flood(send, 'd', data.n);
        return;
    }
  };
}
