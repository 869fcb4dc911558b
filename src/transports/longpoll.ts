/**
 * Long polling over `fetch` (PROTOCOL.md, "Long polling"), shaped like a WebSocket for the core as
 * in phoenix's longpoll.js: one POST opens a connection id; one GET is always outstanding for
 * server→client frames; client→server frames go in POSTs, at most one in flight, and frames sent
 * meanwhile are batched into the next one so their order holds. The server may answer a POST with
 * frames too (an echo, a response): every response carrying frames is numbered, and batches are
 * handed to the core in that order whichever request brought them. Any failure ends the
 * connection: nothing is retried here, the core resumes the session and re-sends what was not
 * acknowledged.
 */
import { asTransportError, TransportError } from '../errors/transport.js';
import { ABNORMAL, closeCodeForHttpStatus } from '../protocol/close-codes.js';
import { closeOf, encodeBatch, MAX_BATCH_CHARS, parseOpened, parsePolled, takeBatch } from './longpoll-wire.js';
import type { PolledFrame } from './longpoll-wire.js';
import { CLOSE_WAIT_MS, KEEPALIVE_MAX_CHARS } from '../protocol/limits.js';
import { isDeadLink, unrefTimer } from './socket.js';
import type { CloseInfo, Transport, TransportContext, TransportFactory, TransportHandlers } from './transport.js';

type Fetch = typeof globalThis.fetch;

function fetchOf(ctx: TransportContext): Fetch | undefined {
  const f = ctx.fetch ?? (globalThis as { fetch?: Fetch }).fetch;
  // window.fetch throws "Illegal invocation" when called on another receiver.
  return typeof f === 'function' ? f.bind(globalThis) : undefined;
}

/** HTTP long polling: `fetch` + `AbortController`, no cookies, CORS simple requests only. */
export const longpollTransport: TransportFactory = {
  name: 'longpoll',
  isSupported(ctx) {
    if (!fetchOf(ctx)) return 'no fetch implementation: pass options.fetch';
    return typeof AbortController === 'function' ? true : 'no AbortController';
  },
  connect(url, handlers, ctx) {
    const fetch = fetchOf(ctx);
    if (!fetch) throw new TransportError('longpoll', 'no fetch implementation');
    try {
      // A relative one (an explicit `urls.longpoll`) is the page's, as a relative main URL is.
      const u = new URL(url, (globalThis as { location?: { href?: string } }).location?.href);
      // fetch throws for a URL with credentials: they go as Basic auth, on every request,
      // percent-decoded to bytes (as a browser does once a server asks for them).
      const auth = `${u.username}:${u.password}`;
      u.username = u.password = '';
      return new LongPollTransport(
        u.href,
        auth === ':'
          ? fetch
          : (to, init) => fetch(to, { ...init, headers: { authorization: `Basic ${btoa(unescape(auth))}` } }),
        handlers,
      );
    } catch (cause) {
      throw new TransportError('longpoll', `invalid long-polling URL: ${url}`, ABNORMAL, { cause });
    }
  },
};

class LongPollTransport implements Transport {
  readonly name = 'longpoll';
  /** Largest POST batch the server takes (from its open response). */
  #maxBatchChars = MAX_BATCH_CHARS;
  readonly #fetch: Fetch;
  /** Undefined once closed, by either side: then no handler fires. */
  #handlers: TransportHandlers | undefined;
  /**
   * Abort the current poll, and the opening POST or the current POST. One per request: undici's
   * fetch keeps a listener on a signal until the request is garbage-collected and counts them all
   * on every fetch, so a shared signal makes each request slower than the one before.
   */
  #down = new AbortController();
  #up = new AbortController();
  #connectionUrl: string | undefined;
  /** The server forgot the id (it sent a close frame or answered 404): no DELETE. */
  #idGone: true | undefined;
  #outbox: string[] = [];
  #posting: Promise<void> | undefined;
  /** Number of the next batch for the core; batches that came before their turn wait here. */
  #next = 1;
  readonly #early = new Map<number, readonly PolledFrame[]>();

  constructor(url: string, fetch: Fetch, handlers: TransportHandlers) {
    this.#fetch = fetch;
    this.#handlers = handlers;
    this.#posting = this.#open(url);
  }

  send(data: string): void {
    if (!this.#handlers) return;
    this.#outbox.push(data);
    this.#post();
  }

  /**
   * Stops polling at once. On a deliberate close the frames already handed to `send` (the core's
   * close frame, typically) still go out, in order, before the DELETE; a dead link gets the DELETE
   * only. Both are best effort and report nothing.
   */
  close(code: number, _reason: string): void {
    this.#finish(undefined, !isDeadLink(code));
  }

  /**
   * The opening POST, as `#posting` (it goes on `#up`): a deliberate close meanwhile lets it finish,
   * for the DELETE of the id it makes, which else would hold a handshake place on the server.
   */
  async #open(url: string): Promise<void> {
    try {
      // `n`: this client takes numbered batches, in POST responses too.
      const [id, maxBatchChars] = parseOpened(await this.#exchange('POST', url, '{"n":1}', this.#up));
      const u = new URL(url);
      // Appended to the application's query as it is written: searchParams would rewrite all of it
      // (`%20` to `+`, `;` to `%3B`, `a` to `a=`), which a signed URL or a proxy routing on the
      // raw query tells apart from what the opening POST carried.
      u.search += `${u.search && '&'}c=${id}`;
      this.#connectionUrl = u.href;
      this.#maxBatchChars = maxBatchChars;
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#posting = undefined;
    this.#handlers?.onOpen();
    if (!this.#handlers) return;
    this.#post();
    void this.#pollLoop(this.#connectionUrl);
  }

  /** Keeps exactly one GET outstanding until the connection ends. */
  async #pollLoop(url: string): Promise<void> {
    try {
      while (this.#handlers)
        if (this.#receive(await this.#exchange('GET', url, undefined, (this.#down = new AbortController())))) return;
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Hands the frames of a response to the core, in order, once every batch numbered before them
   * has been (an unnumbered batch is next by definition; a stale number never is). True when the
   * response carried a close frame, delivered or waiting: nothing more is to be fetched.
   */
  #receive(body: string): boolean {
    const [n = this.#next, frames] = parsePolled(body);
    if (frames.length > 0) this.#early.set(n, frames);
    for (let ready; (ready = this.#early.get(this.#next)); this.#early.delete(this.#next++))
      for (const frame of ready) {
        const close = closeOf(frame);
        if (close) this.#idGone = true;
        this.#handlers?.onMessage(JSON.stringify(frame));
        if (close) {
          this.#finish(close);
          return true;
        }
      }
    return frames.some(closeOf);
  }

  /** Starts the next POST unless one is in flight; its completion starts the one after. */
  #post(): void {
    const url = this.#connectionUrl;
    if (this.#posting || url === undefined || this.#outbox.length === 0) return;
    this.#posting = this.#postBatch(url, (this.#up = new AbortController()))
      .then((body) => {
        this.#posting = undefined;
        // An empty body (204): nothing came back.
        if (this.#handlers && !(body && this.#receive(body))) this.#post();
      })
      .catch((error: unknown) => {
        this.#posting = undefined;
        this.#fail(error);
      });
  }

  /**
   * POSTs the next batch of the outbox and resolves to the response body. With `flush` it is the
   * flush after close, sent `keepalive` when small enough to outlive the page.
   */
  async #postBatch(url: string, abort: AbortController, flush?: boolean): Promise<string> {
    const batch = takeBatch(this.#outbox, this.#maxBatchChars);
    const body = encodeBatch(batch);
    const text = await this.#exchange('POST', url, body, abort, flush && body.length <= KEEPALIVE_MAX_CHARS);
    // The server ends the id when it accepts our close frame: a DELETE would only get 404. The
    // close frame is the last thing the core sends, so only a batch's last frame (it has one at
    // least) can be one: its text, as the codec writes it, starts `["c",`.
    if ((batch.at(-1) as string).startsWith('["c",')) this.#idGone = true;
    return text;
  }

  /** One request; resolves to the body of a 2xx response, rejects with a TransportError. */
  async #exchange(
    method: string,
    url: string,
    body: string | undefined,
    abort: AbortController,
    keepalive = false,
  ): Promise<string> {
    let res: Response;
    let text: string;
    try {
      // A string body is sent as `text/plain;charset=UTF-8`: a CORS simple request. No redirects
      // (like a WebSocket): undici's fetch copies every request that may follow one, body included.
      // POSTs go 'same-origin' (no cookies cross-origin, so still no CORS credentials), GETs 'omit':
      // a browser keeps apart the connections of requests with and without credentials, so a POST
      // never waits behind the held GETs of the origin's other tabs (6 per host in HTTP/1.1).
      res = await this.#fetch(url, {
        method,
        body: body ?? null,
        credentials: body ? 'same-origin' : 'omit',
        cache: 'no-store',
        keepalive,
        redirect: 'error',
        window: null,
        signal: abort.signal,
      });
      text = await res.text();
    } catch (cause) {
      throw asTransportError('longpoll', cause, `${method} failed`);
    }
    if (!res.ok) {
      const status = res.status;
      if (status === 404 || status === 410) this.#idGone = true;
      throw new TransportError('longpoll', `${method} answered HTTP ${status}`, closeCodeForHttpStatus(status));
    }
    return text;
  }

  #fail(error: unknown): void {
    // The server's close frame, waiting for the batch this failure lost, still says why it ended:
    // delivered as the next batch, it ends the connection with its code, not 1006 (the frames
    // before it are lost with that batch, for the resume to recover).
    const close = [...this.#early.values()].flat().find(closeOf);
    if (close) this.#receive(`[${JSON.stringify(close)}]`);
    const e = asTransportError('longpoll', error);
    this.#finish({ code: e.closeCode, reason: e.message, error: e });
  }

  /**
   * Ends the connection, once. With `info` it ended on its own: exactly one onClose, unless the core
   * closed it first. Without, the core closed it; `flush`: frames already handed to `send` still go.
   */
  #finish(info?: CloseInfo, flush?: boolean): void {
    const handlers = this.#handlers;
    if (!handlers) return;
    this.#handlers = undefined;
    this.#down.abort();
    if (!flush) {
      this.#up.abort();
      this.#outbox = [];
    }
    // While opening, only a deliberate close has an id to wait for (see `#open`).
    if (!this.#idGone && (flush || this.#connectionUrl)) void this.#flushThenDelete();
    if (info) handlers.onClose(info);
  }

  /**
   * Best effort, after close: the remaining frames in order, then the DELETE, the POST in flight
   * (the opening one too) and these given up after CLOSE_WAIT_MS. Unbounded, a server that never
   * answers held each of them for undici's 5 minutes, and a Node script that had called `close()`
   * with them.
   */
  async #flushThenDelete(): Promise<void> {
    const bye = new AbortController();
    unrefTimer(() => {
      bye.abort();
      this.#up.abort();
    }, CLOSE_WAIT_MS);
    await this.#posting;
    // Undefined: the opening POST failed or was given up: no id to end.
    const url = this.#connectionUrl;
    if (url === undefined) return;
    try {
      while (this.#outbox.length > 0) await this.#postBatch(url, bye, true);
    } catch {
      // The connection is gone already; the DELETE below is just as harmless.
    }
    if (!this.#idGone) await this.#exchange('DELETE', url, undefined, bye, true).catch(() => undefined);
  }
}
