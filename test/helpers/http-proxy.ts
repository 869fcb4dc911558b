/**
 * A corporate-style forward HTTP proxy on 127.0.0.1 for browser tests (Chromium's `--proxy-server`
 * or Playwright's `proxy`): it forwards absolute-form requests (`GET http://host:port/path`) to
 * their target, but
 * - buffers each response whole before sending it on (no streaming: a response that never ends
 *   never arrives, as SockJS's xhr-streaming and eventsource find behind such proxies);
 * - refuses every CONNECT tunnel (403 by default), which is how Chromium sends a WebSocket through
 *   an HTTP proxy, and every WebSocket upgrade sent in the clear; with `tunnels`, it opens CONNECT
 *   tunnels to 127.0.0.1 instead, and `cutTunnels()` breaks the open ones (reset, or gone silent);
 * - with `readTimeoutMs`, answers 504 to a request whose upstream answer is not complete by then,
 *   and aborts the upstream request (a proxy's idle or read timeout cutting a held long poll);
 * - with `latencyMs`, sends each answer that much later (a server far away).
 * It counts what it did, and `close()` ends every connection and timer it holds.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export interface HttpProxyOptions {
  /** Cut a request whose upstream answer is not complete after this long (504). Default: never. */
  readonly readTimeoutMs?: number;
  /** Status line for CONNECT. Default 403. */
  readonly connectStatus?: number;
  /** Each answer goes out this much later: a far-away server, as seen through the proxy. Default 0. */
  readonly latencyMs?: number;
  /**
   * Open CONNECT tunnels to 127.0.0.1 (a proxy that lets WebSocket through); a CONNECT elsewhere (a
   * browser's own background services) is still refused. Default false.
   */
  readonly tunnels?: boolean;
}

/** How `cutTunnels` breaks a tunnel: both ends reset, or nothing forwarded any more with both ends left open. */
export type TunnelCut = 'reset' | 'silence';

/** An open CONNECT tunnel: the browser's socket and the proxy's socket to the target. */
interface Tunnel {
  readonly browser: net.Socket;
  readonly target: net.Socket;
  /** False once silenced: then neither end's close reaches the other. */
  linked: boolean;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy sets itself on the buffered response. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/** At most this many request paths are kept in `paths` (the counts go on). */
const MAX_PATHS = 5000;

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

export class HttpProxy {
  readonly #server: http.Server;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #readTimeoutMs: number | undefined;
  readonly #connectStatus: number;
  readonly #latencyMs: number;
  /** Answers waiting out `latencyMs`. */
  readonly #delayed = new Set<NodeJS.Timeout>();
  /** Upstream requests in flight and their timers, so `close()` ends them. */
  readonly #inFlight = new Set<{ upstream: http.ClientRequest; timer: NodeJS.Timeout | undefined }>();
  readonly #sockets = new Set<Duplex>();
  readonly #tunnels = new Set<Tunnel>();
  readonly #tunnelsOn: boolean;
  /** CONNECT tunnels opened (with `tunnels`). */
  tunnelsOpened = 0;
  /** Requests forwarded (answered by upstream, cut with 504, or failed with 502). */
  requests = 0;
  /** Requests answered 504 by the read timeout. */
  timeouts = 0;
  /** Requests answered 502 because upstream failed. */
  badGateway = 0;
  /** CONNECT tunnels refused. */
  connectsRefused = 0;
  /** WebSocket upgrades sent in the clear (not through CONNECT), refused. */
  upgradesRefused = 0;
  /** Path (without query) of each forwarded request, the first MAX_PATHS. */
  readonly paths: string[] = [];
  /**
   * Target (`host:port`) of each refused CONNECT, the first MAX_PATHS: a browser's own background
   * connections (Firefox's, to its services) are refused too, and are told apart by their target.
   */
  readonly connectTargets: string[] = [];

  private constructor(server: http.Server, options: HttpProxyOptions) {
    this.#server = server;
    this.#readTimeoutMs = options.readTimeoutMs;
    this.#connectStatus = options.connectStatus ?? 403;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#tunnelsOn = options.tunnels ?? false;
  }

  static async start(options: HttpProxyOptions = {}): Promise<HttpProxy> {
    const server = http.createServer();
    const proxy = new HttpProxy(server, options);
    server.on('connection', (socket) => proxy.#track(socket));
    server.on('request', (req, res) => proxy.#forward(req, res));
    server.on('connect', (req, socket: net.Socket, head: Buffer) => {
      if (proxy.#tunnelsOn && req.url?.startsWith('127.0.0.1:')) return proxy.#tunnel(req.url, socket, head);
      proxy.connectsRefused++;
      if (proxy.connectTargets.length < MAX_PATHS) proxy.connectTargets.push(req.url ?? '');
      proxy.#refuse(socket, proxy.#connectStatus);
    });
    server.on('upgrade', (_req, socket) => {
      proxy.upgradesRefused++;
      proxy.#refuse(socket, 403);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** For Playwright's `proxy` option; `<-loopback>` because Chromium bypasses proxies for loopback by default. */
  get playwright(): { server: string; bypass: string } {
    return { server: `http://127.0.0.1:${this.port}`, bypass: '<-loopback>' };
  }

  /** How many forwarded requests had a path starting with `prefix`. */
  count(prefix: string): number {
    return this.paths.filter((p) => p.startsWith(prefix)).length;
  }

  /** Tunnels open now (the cut ones are gone from this count, the silenced ones too). */
  get openTunnels(): number {
    return this.#tunnels.size;
  }

  /**
   * Breaks every open tunnel, as a proxy restarting or dropping idle tunnels does: `reset` resets
   * both ends at once (the browser sees its WebSocket fail); `silence` stops forwarding and leaves
   * both ends open (a half-open link: only a heartbeat finds it). Tunnels opened later work.
   */
  cutTunnels(how: TunnelCut): number {
    const cut = this.#tunnels.size;
    for (const tunnel of this.#tunnels) {
      if (how === 'reset') {
        tunnel.browser.resetAndDestroy();
        tunnel.target.resetAndDestroy();
      } else {
        tunnel.linked = false;
        tunnel.browser.unpipe(tunnel.target);
        tunnel.target.unpipe(tunnel.browser);
        // Read and drop what comes, so neither end is held up by a full buffer.
        tunnel.browser.on('data', () => undefined);
        tunnel.target.on('data', () => undefined);
      }
    }
    this.#tunnels.clear();
    return cut;
  }

  async close(): Promise<void> {
    for (const flight of this.#inFlight) {
      clearTimeout(flight.timer);
      flight.upstream.destroy();
    }
    this.#inFlight.clear();
    for (const timer of this.#delayed) clearTimeout(timer);
    this.#delayed.clear();
    for (const socket of this.#sockets) socket.destroy();
    this.#agent.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Duplex): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  #tunnel(authority: string, browser: net.Socket, head: Buffer): void {
    this.#track(browser);
    const { hostname, port } = new URL(`http://${authority}`);
    const target = net.connect(Number(port), hostname);
    this.#track(target);
    const tunnel: Tunnel = { browser, target, linked: true };
    // A target that refuses, or one end gone: the other goes too, unless the tunnel was silenced.
    const closed = (other: net.Socket) => () => {
      this.#tunnels.delete(tunnel);
      if (tunnel.linked) other.destroy();
    };
    target.once('close', closed(browser));
    browser.once('close', closed(target));
    target.once('connect', () => {
      if (browser.destroyed) return;
      this.tunnelsOpened++;
      this.#tunnels.add(tunnel);
      browser.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) target.write(head);
      browser.pipe(target);
      target.pipe(browser);
    });
  }

  #refuse(socket: Duplex, status: number): void {
    this.#track(socket);
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Refused'}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:') throw new Error('not http');
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('absolute-form http:// URL expected');
      return;
    }
    this.requests++;
    if (this.paths.length < MAX_PATHS) this.paths.push(target.pathname);
    const upstream = http.request(target, {
      method: req.method,
      headers: endToEnd(req.headers),
      agent: this.#agent,
    });
    const flight = { upstream, timer: undefined as NodeJS.Timeout | undefined };
    this.#inFlight.add(flight);
    let answered = false;
    /** Answers the client once, and forgets the upstream request. */
    const answer = (status: number, headers: http.OutgoingHttpHeaders, body: Buffer): void => {
      if (answered) return;
      answered = true;
      clearTimeout(flight.timer);
      this.#inFlight.delete(flight);
      const send = (): void => {
        if (!res.destroyed) res.writeHead(status, { ...headers, 'Content-Length': body.length }).end(body);
      };
      if (this.#latencyMs === 0) return send();
      const timer = setTimeout(() => {
        this.#delayed.delete(timer);
        send();
      }, this.#latencyMs);
      this.#delayed.add(timer);
    };
    if (this.#readTimeoutMs !== undefined) {
      flight.timer = setTimeout(() => {
        this.timeouts++;
        answer(504, { 'Content-Type': 'text/plain' }, Buffer.from('proxy read timeout'));
        upstream.destroy();
      }, this.#readTimeoutMs);
    }
    upstream.on('response', (up) => {
      // Buffered whole: nothing reaches the client before the upstream response has ended.
      const chunks: Buffer[] = [];
      up.on('data', (chunk: Buffer) => chunks.push(chunk));
      up.on('end', () => answer(up.statusCode ?? 502, endToEnd(up.headers), Buffer.concat(chunks)));
      up.on('error', () => undefined); // 'close' below answers
    });
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      if (answered) return;
      this.badGateway++;
      answer(502, { 'Content-Type': 'text/plain' }, Buffer.from('upstream failed'));
    });
    // The browser went (aborted its request): so does the upstream request.
    res.on('close', () => {
      if (!answered) {
        answered = true;
        clearTimeout(flight.timer);
        this.#inFlight.delete(flight);
        upstream.destroy();
      }
    });
    req.pipe(upstream);
  }
}
