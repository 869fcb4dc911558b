/**
 * A surelink protocol v1 server written from PROTOCOL.md alone, as a developer in another language
 * would (it imports nothing from src/): the handshake, sequenced events both ways with cumulative
 * acks, requests, ping/pong, close frames, session resume and the heartbeat. Transports plug in as
 * a `Wire` (doc-transports.ts: WebSocket and long polling). It proves the document is enough to
 * talk to the real client (test/integration/protocol-doc.test.ts); it is deliberately small and
 * checks only what it needs, so it is no model of a production server.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachLongPoll, attachWebSocket } from './doc-transports.js';

/** How a connection ends, which decides what the transport does with it. */
export type EndKind = 'closed' | 'peer' | 'taken' | 'cut';

/** One transport connection as the protocol layer sees it. */
export interface Wire {
  /** Sends frames in order; `batch`: the client announced `b`, so they may share one message. */
  write(texts: readonly string[], batch: boolean): void;
  /**
   * Ends the transport. `closed`: our close frame was the last write; `peer`: the client's close
   * frame arrived; `taken`: dropped without a close frame (resume elsewhere, heartbeat); `cut`: a
   * test vanishes abruptly, as a network failure would.
   */
  end(kind: EndKind, code: number): void;
}

export interface DocServerOptions {
  /** `[intervalMs, timeoutMs]` announced in `welcome.hb` and used for the server's own heartbeat. */
  hb?: [number, number];
  /** Application request handlers; a throw with a string `code` becomes that error code. */
  handlers?: Record<string, (data: unknown) => unknown>;
  /** How long a GET is held before `[]` (the document says about 25 s). */
  pollTimeoutMs?: number;
  /** Honour the opening POST's `"n":1` (numbered batches); `false` plays an older server. */
  numbered?: boolean;
}

type Frame = readonly unknown[];

const PATH = '/realtime';
// PROTOCOL.md "Application events": lifecycle names a server must not send or accept.
const RESERVED = 'open close state reconnecting error message transport queue:overflow queue:expired';
const SESSION_ONLY = 'disconnect resume end';
const reserved = new Set(`${RESERVED} ${SESSION_ONLY}`.split(' '));
// Close-code table: the codes that stop the client; the session ends with them.
const FATAL = new Set([1000, 4401, 4403, 4426]);
// Bad input discards the session: a resume would re-send the same bad frame.
const DISCARD = new Set([4400, 4413, 4508]);

const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isPos = (v: unknown): v is number => isUint(v) && v >= 1;
const isName = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 256;
const token = (): string => randomBytes(18).toString('base64url');

/** A close reason cut to the 123 UTF-8 bytes a WebSocket close frame can carry, whole code points. */
function fitReason(reason: string): string {
  let out = '';
  for (const ch of reason) {
    if (Buffer.byteLength(out + ch) > 123) break;
    out += ch;
  }
  return out;
}

/** What the server remembers about one client across connections. */
export class DocSession {
  readonly sid = `s-${token().slice(0, 8)}`;
  resume = token();
  /** Last S→C sequence number sent, and the resend buffer (seq → exact text). */
  outSeq = 0;
  readonly outbox = new Map<number, string>();
  /** Highest C→S sequence number delivered, and the last one acknowledged to the client. */
  delivered = 0;
  acked = 0;
  /** Every delivered C→S event, and every request name run, in order: tests check loss and duplicates. */
  readonly received: { name: string; data: unknown }[] = [];
  readonly requests: string[] = [];
  link: Link | undefined;

  constructor(readonly server: DocServer) {}

  /** Sends an application event: numbered and buffered even while detached, re-sent on resume. */
  send(name: string, data?: unknown): void {
    this.sequenced(data === undefined ? ['e', name] : ['e', name, data]);
  }

  sequenced([tag, ...rest]: Frame): void {
    const seq = ++this.outSeq;
    const text = JSON.stringify([tag, seq, ...rest]);
    this.outbox.set(seq, text);
    this.link?.write([text]);
  }

  /** Ends the attached connection with a close frame. */
  close(code: number, reason: string): void {
    this.link?.end(code, reason);
  }

  /** Drops the attached connection without a close frame (the link "fails"). */
  cut(): void {
    this.link?.drop('cut');
  }
}

/** One connection: its handshake, then the frames of one session. */
export class Link {
  session: DocSession | undefined;
  private ended = false;
  private batches = false;
  private lastHeard = Date.now();
  private lastPing = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private ackDue = false;

  constructor(
    private readonly server: DocServer,
    private readonly wire: Wire,
  ) {}

  /** One WebSocket message: one frame, or a batch (an array whose first element is an array). */
  receiveMessage(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.end(4400, 'not JSON');
    }
    const isBatch = Array.isArray(parsed) && Array.isArray(parsed[0]);
    const frames = isBatch ? (parsed as unknown[]) : [parsed];
    if (isBatch && (!this.session || !frames.every(Array.isArray))) return this.end(4400, 'bad batch');
    this.receiveFrames(frames);
  }

  /** Frames of one message or one long-poll POST, in order; acks what they delivered. */
  receiveFrames(frames: readonly unknown[]): void {
    for (const f of frames) if (!this.ended) this.receiveFrame(f);
    this.scheduleAck();
  }

  private receiveFrame(f: unknown): void {
    this.lastHeard = Date.now();
    if (!Array.isArray(f) || typeof f[0] !== 'string') return this.end(4400, 'not a frame');
    if (!this.session) return f[0] === 'c' ? this.drop('peer') : this.hello(f);
    const s = this.session;
    const n = f.length;
    switch (f[0]) {
      case 'e':
        if ((n !== 3 && n !== 4) || !isPos(f[1]) || !isName(f[2])) return this.end(4400, 'bad event');
        if (reserved.has(f[2])) return this.end(4400, `reserved event name ${f[2]}`);
        if (this.deliverable(f[1])) s.received.push({ name: f[2], data: f[3] });
        return;
      case 'q':
        if ((n !== 4 && n !== 5) || !isPos(f[1]) || !isPos(f[2]) || !isName(f[3])) return this.end(4400, 'bad request');
        if (this.deliverable(f[1])) this.run(s, f[2], f[3], f[4]);
        return;
      case 'a':
        if (n !== 2 || !isUint(f[1])) return this.end(4400, 'bad ack');
        if (f[1] > s.outSeq) return this.end(4400, 'ack beyond sent');
        for (const seq of s.outbox.keys()) if (seq <= f[1]) s.outbox.delete(seq);
        return;
      case 'p':
        if (n !== 2 || typeof f[1] !== 'number') return this.end(4400, 'bad ping');
        this.server.pings++;
        return this.write([JSON.stringify(['o', f[1]])]);
      case 'o':
        this.server.pongs.push(f[1]);
        return;
      case 'c':
        // The client's close: 1000 and bad input (4400, 4413) end the session, other codes leave it
        // resumable ("Session resume": a resume would replay the frame the client refused).
        this.server.closesReceived.push(f[1] as number);
        if (f[1] === 1000 || f[1] === 4400 || f[1] === 4413) this.server.sessions.delete(s.resume);
        return this.drop('peer');
      default:
        return this.end(4400, `unexpected frame ${String(f[0])}`);
    }
  }

  /** The receiver's rule: deliver the next number, drop (but ack) a duplicate, refuse a gap. */
  private deliverable(seq: number): boolean {
    const s = this.session as DocSession;
    if (seq === s.delivered + 1) {
      s.delivered = seq;
      return true;
    }
    if (seq <= s.delivered) this.ackDue = true;
    else this.end(4400, `gap: ${seq} after ${s.delivered}`);
    return false;
  }

  /** Runs a request handler; the response is one sequenced frame, ok or error. */
  private run(s: DocSession, id: number, name: string, data: unknown): void {
    s.requests.push(name);
    const handler = this.server.options.handlers?.[name];
    const fail = (code: string, message: string): void => s.sequenced(['r', id, 0, { code, message }]);
    if (!handler) return fail('NO_HANDLER', `no handler for ${name}`);
    Promise.resolve()
      .then(() => handler(data))
      .then(
        (result) => s.sequenced(result === undefined ? ['r', id, 1] : ['r', id, 1, result]),
        (error: unknown) => {
          const code = (error as { code?: unknown }).code;
          if (typeof code === 'string' && code) fail(code, String((error as Error).message));
          else fail('HANDLER_ERROR', 'handler failed'); // a generic message, as PROTOCOL.md says
        },
      );
  }

  /** Acks once per inbound message (a whole burst of frames), unless the test holds acks back. */
  scheduleAck(): void {
    const s = this.session;
    if (!s || this.ended || this.server.holdAcks || !(this.ackDue || s.delivered > s.acked)) return;
    this.ackDue = false;
    s.acked = s.delivered;
    this.write([JSON.stringify(['a', s.delivered])]);
  }

  private hello(f: Frame): void {
    const h = f[1] as { v?: unknown; ack?: unknown; resume?: unknown; b?: unknown } | undefined;
    if (f[0] !== 'h' || f.length !== 2 || typeof h !== 'object' || h === null || !isUint(h.v) || !isUint(h.ack))
      return this.end(4400, 'expected hello');
    if (h.v !== 1) return this.end(4426, `unsupported protocol version ${h.v}; this server speaks 1`);
    const found = typeof h.resume === 'string' ? this.server.sessions.get(h.resume) : undefined;
    if (found && h.ack > found.outSeq) return this.end(4400, 'hello.ack beyond sent');
    const s = found ?? new DocSession(this.server);
    s.link?.drop('taken'); // no frame of a session ever goes out on two connections
    this.server.sessions.delete(s.resume);
    s.resume = token(); // a fresh token per welcome; the client keeps the latest
    this.server.sessions.set(s.resume, s);
    if (!found) this.server.created.push(s);
    s.link = this;
    this.session = s;
    this.batches = isPos(h.b);
    for (const seq of s.outbox.keys()) if (found && seq <= (h.ack as number)) s.outbox.delete(seq);
    s.acked = s.delivered;
    const [interval, timeout] = this.server.hb;
    const welcome = { v: 1, sid: s.sid, resume: s.resume, resumed: !!found, ack: s.delivered, hb: [interval, timeout] };
    this.wire.write([JSON.stringify(['w', welcome])], false); // the welcome travels alone
    this.server.welcomes.push(welcome);
    this.write([...s.outbox.values()]); // the replay: what the client has not acknowledged
    this.timer = setInterval(() => this.beat(), Math.max(1, Math.min(interval, timeout) / 2));
    this.timer.unref();
  }

  /** Heartbeat: ping after `interval` of silence, give up after `interval + timeout` (4000). */
  private beat(): void {
    const now = Date.now();
    const silent = now - this.lastHeard;
    const [interval, timeout] = this.server.hb;
    if (silent >= interval + timeout) this.drop('taken');
    else if (silent >= interval && now - this.lastPing >= interval) {
      this.lastPing = now; // at most one ping per interval
      const ts = Date.now() + 0.5; // fractional on purpose: `ts` is any number, echoed unchanged
      this.server.pingsSent.push(ts);
      this.write([JSON.stringify(['p', ts])]);
    }
  }

  write(texts: readonly string[]): void {
    if (!this.ended && texts.length > 0) this.wire.write(texts, this.batches);
  }

  /** Ends on purpose: the close frame as the last frame, then the transport. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    this.write([JSON.stringify(['c', code, fitReason(reason)])]);
    this.settle(code);
    this.finish('closed', code);
  }

  /** Ends without a close frame of ours; the session stays resumable unless settled otherwise. */
  drop(kind: Exclude<EndKind, 'closed'>): void {
    if (!this.ended) this.finish(kind, 1006);
  }

  /** The transport went away by itself (socket closed, DELETE, poll liveness lost). */
  lost(): void {
    this.drop('taken');
  }

  private finish(kind: EndKind, code: number): void {
    this.ended = true;
    clearInterval(this.timer);
    if (this.session?.link === this) this.session.link = undefined;
    this.wire.end(kind, code);
  }

  /** What a close code of ours means for the session: 1000, fatal codes and bad input end it. */
  private settle(code: number): void {
    const s = this.session;
    if (s && (FATAL.has(code) || DISCARD.has(code))) this.server.sessions.delete(s.resume);
  }
}

/** The server: WebSocket at `/realtime`, long polling at `/realtime/poll`, both on one port. */
export class DocServer {
  readonly sessions = new Map<string, DocSession>();
  /** Sessions in creation order, welcomes as sent, close codes received from clients. */
  readonly created: DocSession[] = [];
  readonly welcomes: { resumed: boolean; ack: number; sid: string }[] = [];
  readonly closesReceived: number[] = [];
  /** Pings received; timestamps of the server's own pings, and of the pongs that answered them. */
  pings = 0;
  readonly pingsSent: number[] = [];
  readonly pongs: unknown[] = [];
  readonly hb: [number, number];
  /** While true the server delivers but does not acknowledge: the client's frames stay "in flight". */
  holdAcks = false;
  url = '';

  private constructor(
    readonly options: DocServerOptions,
    readonly http: Server,
  ) {
    this.hb = options.hb ?? [20_000, 10_000];
  }

  static async start(options: DocServerOptions = {}): Promise<DocServer> {
    const http = createServer();
    const server = new DocServer(options, http);
    const makeLink = (wire: Wire): Link => new Link(server, wire);
    attachWebSocket(server, PATH, makeLink);
    attachLongPoll(server, `${PATH}/poll`, makeLink);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    server.url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}${PATH}`;
    return server;
  }

  /** The newest session (most tests have one client). */
  get session(): DocSession {
    const s = this.created.at(-1);
    if (!s) throw new Error('no session yet');
    return s;
  }

  /** Lets acks flow again and acknowledges what was delivered meanwhile. */
  releaseAcks(): void {
    this.holdAcks = false;
    for (const s of this.created) s.link?.scheduleAck();
  }

  async stop(): Promise<void> {
    for (const s of this.created) s.link?.drop('cut');
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
  }
}
