/**
 * A fault-injecting TCP proxy on 127.0.0.1 for integration and browser tests: forwards to a target
 * port and can cut every connection, black-hole (stop forwarding silently: a half-open link), make
 * only the links open now silent for good (`silence`), delay, or refuse WebSocket upgrades (answer
 * 403 to any request carrying `Upgrade: websocket`). It tracks every socket it accepts, so `cut`
 * and `close` also end those that never sent a byte (a browser's or `fetch`'s connections opened
 * ahead of need), on which a server's close would otherwise wait.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'forward' | 'blackhole' | 'refuse-upgrade' | 'hang-upgrade';

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** Silenced (`silence`): nothing passes and nothing closes, not even when one side went. */
  silent: boolean;
}

export class TcpProxy {
  readonly #server: net.Server;
  readonly #targetPort: number;
  readonly #pairs = new Set<Pair>();
  /** Every socket open on either side, piped or not. */
  readonly #sockets = new Set<net.Socket>();
  mode: ProxyMode = 'forward';
  /** Extra latency per chunk in ms (both directions): one round trip costs `2 * delayMs`. */
  delayMs = 0;
  /**
   * Round trips (of `2 * delayMs`) a new connection costs before its first bytes pass: 1 models
   * TCP's handshake, 2 TCP plus TLS 1.3, 3 TCP plus TLS 1.2. The client's socket opens at once on
   * loopback, so the cost is paid by holding its first bytes; `0` (the default) as before.
   */
  connectRtts = 0;
  /** Connections accepted so far. */
  accepted = 0;
  /** When each connection was accepted (`performance.now()`), for timing tests. */
  readonly acceptedAt: number[] = [];
  /** Sees each chunk forwarded from the server, so a test can wait for a frame to pass. */
  onServerData: ((chunk: Buffer) => void) | undefined;

  private constructor(server: net.Server, targetPort: number) {
    this.#server = server;
    this.#targetPort = targetPort;
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, targetPort);
    server.on('connection', (socket) => proxy.#accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  /** Destroys every connection at once, silenced or never used too (both sides see a reset/close). */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#pairs.clear();
  }

  /**
   * Makes every link open now silent both ways, for good: nothing passes and nothing closes (a
   * half-open link, as after a network change or behind a NAT that forgot it), while links opened
   * later pass. Unlike `mode = 'blackhole'`, a side that closes is not passed on either. Returns
   * how many links went silent.
   */
  silence(): number {
    let count = 0;
    for (const pair of this.#pairs) {
      if (pair.silent) continue;
      pair.silent = true;
      count++;
    }
    return count;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #accept(client: net.Socket): void {
    this.#track(client);
    this.accepted++;
    this.acceptedAt.push(performance.now());
    client.once('data', (first: Buffer) => {
      const wait = this.connectRtts * 2 * this.delayMs;
      if (wait <= 0) return this.#first(client, first);
      client.pause(); // what follows the first chunk waits with it, in order
      setTimeout(() => !client.destroyed && this.#first(client, first), wait);
    });
    client.on('error', () => client.destroy());
  }

  #first(client: net.Socket, first: Buffer): void {
    const head = first.toString('latin1');
    const upgrade = /^upgrade:\s*websocket/im.test(head);
    if (upgrade && this.mode === 'refuse-upgrade') {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    if (upgrade && this.mode === 'hang-upgrade') return void client.on('error', () => {});
    this.#pipe(client, first);
  }

  #pipe(client: net.Socket, first: Buffer): void {
    const upstream = net.connect(this.#targetPort, '127.0.0.1');
    this.#track(upstream);
    const pair: Pair = { client, upstream, silent: false };
    this.#pairs.add(pair);
    const end = (): void => {
      this.#pairs.delete(pair);
      if (pair.silent) return; // a silent link says nothing, not even that its other side went
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', end);
    client.on('error', end);
    upstream.on('close', end);
    client.on('close', end);
    this.#forward(pair, client, upstream);
    this.#forward(pair, upstream, client, true);
    this.#write(upstream, first);
    client.resume(); // held while the connection was being paid for (`connectRtts`)
  }

  /** Read and dropped while silent, so the sender's writes still succeed. */
  #forward(pair: Pair, from: net.Socket, to: net.Socket, fromServer = false): void {
    from.on('data', (chunk: Buffer) => {
      if (pair.silent) return;
      if (fromServer && this.mode !== 'blackhole') this.onServerData?.(chunk);
      this.#write(to, chunk);
    });
  }

  #write(to: net.Socket, chunk: Buffer): void {
    if (this.mode === 'blackhole') return;
    if (this.delayMs > 0) setTimeout(() => to.writable && to.write(chunk), this.delayMs);
    else if (to.writable) to.write(chunk);
  }
}
