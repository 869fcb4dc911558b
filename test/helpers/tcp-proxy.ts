/**
 * A fault-injecting TCP proxy on 127.0.0.1 for integration tests: forwards to a target port and
 * can cut every connection, black-hole (stop forwarding silently: a half-open link), delay, or
 * refuse WebSocket upgrades (answer 403 to any request carrying `Upgrade: websocket`).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'forward' | 'blackhole' | 'refuse-upgrade' | 'hang-upgrade';

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
}

export class TcpProxy {
  readonly #server: net.Server;
  readonly #targetPort: number;
  readonly #pairs = new Set<Pair>();
  mode: ProxyMode = 'forward';
  /** Extra latency per chunk in ms (both directions). */
  delayMs = 0;
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

  /** Destroys every proxied connection at once (both sides see a reset/close). */
  cut(): void {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.accepted++;
    this.acceptedAt.push(performance.now());
    client.once('data', (first: Buffer) => {
      const head = first.toString('latin1');
      const upgrade = /^upgrade:\s*websocket/im.test(head);
      if (upgrade && this.mode === 'refuse-upgrade') {
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      if (upgrade && this.mode === 'hang-upgrade') return void client.on('error', () => {});
      this.#pipe(client, first);
    });
    client.on('error', () => client.destroy());
  }

  #pipe(client: net.Socket, first: Buffer): void {
    const upstream = net.connect(this.#targetPort, '127.0.0.1');
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const end = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', end);
    client.on('error', end);
    upstream.on('close', end);
    client.on('close', end);
    this.#forward(client, upstream);
    this.#forward(upstream, client, true);
    this.#write(upstream, first);
  }

  #forward(from: net.Socket, to: net.Socket, fromServer = false): void {
    from.on('data', (chunk: Buffer) => {
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
