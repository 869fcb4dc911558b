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
import { isApplicationCode, SocketTransport } from './socket.js';
import type {
  CloseInfo,
  SockJSConstructor,
  TransportContext,
  TransportFactory,
  TransportHandlers,
  TransportName,
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
  return {
    name: 'sockjs',
    // Loaded on demand: whether it can load is only known by trying.
    isSupported: () => true,
    connect: (url, handlers, ctx) => {
      // WebSocket already failed on this network: sockjs-client's own websocket would fail the same way.
      const allowed = ctx.avoidWebSocket ? transports.filter((t) => t !== 'websocket') : transports;
      return new SockJSTransport(url, handlers, ctx, { transports: allowed.length > 0 ? allowed : transports });
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

/** The socket adapter, on a sockjs-client socket created once its constructor is at hand. */
class SockJSTransport extends SocketTransport {
  constructor(url: string, handlers: TransportHandlers, ctx: TransportContext, options: Record<string, unknown>) {
    super(handlers);
    // Always through a promise, so no handler can fire during connect(). Closed while loading:
    // `attach` creates no socket.
    constructorOf(ctx).then(
      (Ctor) => {
        try {
          this.attach(() => new Ctor(url, undefined, options));
        } catch (error) {
          this.fail(asTransportError('sockjs', error, 'SockJS constructor threw'));
        }
      },
      (error: unknown) => this.fail(asTransportError('sockjs', error, 'could not load sockjs-client')),
    );
  }

  override get name(): TransportName {
    return 'sockjs';
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
    if (wasClean !== false && isApplicationCode(code)) return { code, reason };
    const why = `${reason || 'connection lost'} (SockJS code ${code})`;
    const error = new TransportError('sockjs', `SockJS ${opened ? 'connection lost' : 'could not connect'}: ${why}`);
    return { code: ABNORMAL, reason: why, error };
  }
}
