/**
 * SockJS fallback over `sockjs-client`, for networks where a WebSocket cannot get through. The
 * constructor is injected (`options.SockJS`), taken from `window.SockJS` when the page loaded
 * sockjs-client's own script, or loaded on demand (`sockjs-loader.ts`: a dynamic `import()` in the
 * ESM build), so an app that never falls back never downloads it. A failed load fails this attempt
 * with a `TransportError` and the client moves on to the next transport.
 */
import { asTransportError, TransportError } from '../errors/transport.js';
import { ABNORMAL } from '../protocol/close-codes.js';
import { loadSockJS } from './sockjs-loader.js';
import { CLOSE_WAIT_MS } from '../protocol/limits.js';
import { isApplicationCode, isDeadLink, SocketTransport, unrefTimer } from './socket.js';
import type {
  CloseInfo,
  SockJSConstructor,
  SockJSLike,
  TransportContext,
  TransportFactory,
  TransportHandlers,
} from './transport.js';

/**
 * sockjs-client's transports minus the `iframe-*` ones. Those need a second copy of sockjs-client
 * inside an iframe (the server's `sockjs_url`) and only help browsers without CORS XHR, which no
 * supported browser is; trying them would spend the connect timeout on transports bound to fail.
 */
export const DEFAULT_SOCKJS_TRANSPORTS: readonly string[] =
  'websocket xhr-streaming xdr-streaming eventsource htmlfile xhr-polling xdr-polling jsonp-polling'.split(' ');

/** Options of {@link createSockJSTransport}. */
export interface SockJSTransportOptions {
  /**
   * sockjs-client transports to allow, in its own order of preference (its `transports` option).
   * @default DEFAULT_SOCKJS_TRANSPORTS (every transport but the iframe-based ones)
   */
  readonly transports?: readonly string[];
}

/**
 * A SockJS transport factory with custom sockjs-client options; `sockjsTransport` is the default.
 * @example
 * new RealtimeClient(url, { transports: ['websocket', createSockJSTransport({ transports: ['xhr-streaming'] })] });
 */
export function createSockJSTransport(options: SockJSTransportOptions = {}): TransportFactory {
  const transports = [...(options.transports ?? DEFAULT_SOCKJS_TRANSPORTS)];
  // Per endpoint URL, the sockjs-client transport that last opened there: sockjs-client searches its
  // list in a fixed order on every connect, waiting out a timeout of its own on each transport that
  // cannot work (behind a proxy that buffers responses whole, each streaming one: 1.9 s a connect on
  // loopback, test/browser/sockjs-reconnect.test.ts). So a reconnect asks for that one alone, and
  // for the whole list in the same connection when it fails (the network changed). One entry per
  // SockJS endpoint of the page, for its life: a remembered polling transport still works after a
  // network change, and the client's upgrade probe leaves SockJS once WebSocket gets through.
  const worked = new Map<string, string>();
  return {
    name: 'sockjs',
    // Loaded on demand: whether it can load is only known by trying.
    isSupported: () => true,
    connect: (url, handlers, ctx) => {
      // WebSocket already failed on this network: sockjs-client's own websocket would fail the same way.
      let list = ctx.avoidWebSocket ? transports.filter((t) => t !== 'websocket') : transports;
      if (!list[0]) list = transports;
      // What opened with sockjs-client's own websocket left out is not what a connect allowed to
      // use it (WebSocket gets through now, or another client of the page) should settle for.
      const key = list === transports ? url : `-${url}`;
      /** The remembered transport while a socket asks for it alone and has neither opened nor closed. */
      let trying = list[1] && list.includes(worked.get(key) as string) ? worked.get(key) : undefined;
      let socket: SockJSSocket;
      const start = (only: string[]): void => {
        socket = new SockJSSocket(url, ctx, only, {
          onOpen() {
            trying = undefined;
            worked.set(key, socket.sub?.transport as string);
            handlers.onOpen();
          },
          onMessage: (data) => handlers.onMessage(data),
          onClose(info) {
            // sockjs-client's 1002 is an /info request that failed: the server is out of reach (down,
            // restarting), which says nothing about its transports; anything else is this one failing.
            const retry = trying && socket.code !== 1002;
            trying = undefined; // reported or retried: the client's close() that may follow is no cut
            if (!retry) return handlers.onClose(info);
            worked.delete(key);
            start(list);
          },
        });
      };
      start(trying ? [trying] : list);
      return {
        name: 'sockjs',
        send: (data) => socket.send(data),
        close(code, reason) {
          // Cut before it opened (the client's connect timeout, which a slow link's sockjs-client
          // timeouts can outlast): the next connect searches again, so a remembered one cannot stick.
          if (trying) worked.delete(key);
          socket.close(code, reason);
        },
      };
    },
  };
}

/** SockJS through `sockjs-client`, talking to any SockJS server (ours is at `${path}/sockjs`). */
export const sockjsTransport: TransportFactory = createSockJSTransport();

/** The injected constructor, else the page's `window.SockJS`, else sockjs-client loaded now. */
function constructorOf(ctx: TransportContext): Promise<SockJSConstructor> {
  const Ctor = ctx.SockJS ?? (globalThis as { SockJS?: unknown }).SockJS;
  return typeof Ctor === 'function' ? Promise.resolve(Ctor as SockJSConstructor) : loadSockJS();
}

/** sockjs-client names the transport that opened in `transport` (while open). */
type NamedSocket = SockJSLike & { readonly transport?: unknown };

/** The socket adapter, on a sockjs-client socket created once its constructor is at hand. */
class SockJSSocket extends SocketTransport {
  sub: NamedSocket | undefined;
  /** sockjs-client's close code, once closed. */
  code: number | undefined;

  constructor(url: string, ctx: TransportContext, transports: string[], handlers: TransportHandlers) {
    super(handlers);
    // Always through a promise, so no handler can fire during connect(). Closed while loading:
    // `attach` creates no socket.
    constructorOf(ctx).then(
      (Ctor) => {
        try {
          this.attach(() => (this.sub = new Ctor(url, undefined, { transports })));
        } catch (error) {
          this.fail(asTransportError('sockjs', error, 'SockJS constructor threw'));
        }
      },
      (error: unknown) => this.fail(asTransportError('sockjs', error, 'could not load sockjs-client')),
    );
  }

  /**
   * sockjs-client's XHR transports post what is sent in a request of its own, which its `close()`
   * aborts: the last message and the close frame after it never left. So an open socket closed on
   * purpose is closed when the server, which ends the SockJS session on that close frame, closed it
   * (then this is a no-op), or after CLOSE_WAIT_MS. A dead link is closed at once.
   */
  protected override closeSocket(close: () => void, code: number): void {
    const sub = this.sub;
    this.sub = undefined; // the first close() decides
    if (sub?.readyState === 1 && !isDeadLink(code))
      unrefTimer(() => {
        if (sub.readyState < 2) close();
      }, CLOSE_WAIT_MS);
    else if (sub) close();
  }

  /**
   * Only a close frame from the server (`wasClean`) carrying an application code is taken as is.
   * Everything sockjs-client reports itself (1002 cannot connect, 2000 all transports failed, 1006
   * session lost, a sub-transport's own close codes) is a dropped link: 1006, which is retried.
   */
  protected override closeInfo(
    code: number | undefined,
    reason: string,
    wasClean: boolean | undefined,
    opened: boolean,
  ): CloseInfo {
    this.code = code;
    if (wasClean !== false && isApplicationCode(code)) return { code, reason };
    const why = `${reason || 'connection lost'} (SockJS code ${code})`;
    const error = new TransportError('sockjs', `SockJS ${opened ? 'connection lost' : 'could not connect'}: ${why}`);
    return { code: ABNORMAL, reason: why, error };
  }
}
