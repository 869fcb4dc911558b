import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { PROTOCOL_VERSION } from '../../src/protocol/frames.js';
import type { ServerSession } from '../../src/server/index.js';
import { Fixture, RawClient, deferred, until } from '../helpers/raw-client.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('server handshake', () => {
  it('answers hello with a welcome carrying session id, resume token, ack and heartbeat', async () => {
    const { rt, url } = await fx.server({ heartbeat: { intervalMs: 1234, timeoutMs: 567 } });
    const connected = deferred<ServerSession>();
    rt.on('connection', connected.resolve);

    const { welcome } = await fx.connected(url);
    const session = await connected.promise;

    expect(welcome).toMatchObject({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      resumed: false,
      ack: 0,
      hb: { intervalMs: 1234, timeoutMs: 567 },
    });
    expect(welcome.sid).toBe(session.id);
    expect(welcome.sid).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    // >= 128 bits of base64url
    expect(welcome.resume).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(welcome.resume).not.toBe(welcome.sid);
    expect(rt.sessions.get(welcome.sid)).toBe(session);
    expect(session).toMatchObject({ connected: true, transport: 'websocket', identity: undefined });
  });

  it('gives every session its own id and resume token', async () => {
    const { url } = await fx.server();
    const a = await fx.connected(url);
    const b = await fx.connected(url);
    expect(a.welcome.sid).not.toBe(b.welcome.sid);
    expect(a.welcome.resume).not.toBe(b.welcome.resume);
  });

  it('authenticates with the token from hello, never from the URL', async () => {
    const seen: (string | undefined)[] = [];
    const { rt, url } = await fx.server<Record<string, unknown>, Record<string, unknown>, { user: string }>({
      authenticate: (token: string | undefined, req: IncomingMessage) => {
        seen.push(token);
        expect(req.url).toContain('/realtime');
        return token === 'good' ? { user: 'ann' } : false;
      },
    });
    const connected = deferred<ServerSession<Record<string, unknown>, Record<string, unknown>, { user: string }>>();
    rt.on('connection', connected.resolve);

    await fx.connected(url, { auth: 'good' });
    expect((await connected.promise).identity).toEqual({ user: 'ann' });

    // A token in the query string is not a credential.
    const sneaky = await fx.client(`${url}?auth=good&token=good`);
    sneaky.send({ type: 'hello', v: 1, ack: 0 });
    expect(await sneaky.waitClosed()).toMatchObject({ code: CloseCode.Unauthorized });
    expect(seen).toEqual(['good', undefined]);
  });

  it('rejects with 4401 when authenticate returns false, throws or rejects', async () => {
    const { url } = await fx.server({
      authenticate: async (token) => {
        if (token === 'throw') throw new Error('db down');
        if (token === 'reject') return Promise.reject(new Error('nope'));
        return false;
      },
    });
    for (const auth of ['bad', 'throw', 'reject']) {
      const client = await fx.client(url);
      client.send({ type: 'hello', v: 1, ack: 0, auth });
      expect(await client.next('close')).toMatchObject({ code: CloseCode.Unauthorized });
      expect(await client.waitClosed()).toMatchObject({ code: CloseCode.Unauthorized });
      expect(client.all('welcome')).toEqual([]);
    }
  });

  it('rejects another protocol version with 4426', async () => {
    const { url } = await fx.server();
    const client = await fx.client(url);
    client.send({ type: 'hello', v: PROTOCOL_VERSION + 1, ack: 0 });
    expect(await client.waitClosed()).toMatchObject({ code: CloseCode.UnsupportedVersion });
  });

  it('closes with 4008 when no hello arrives in time', async () => {
    const { url } = await fx.server({ handshakeTimeoutMs: 100 });
    const client = await fx.client(url);
    expect(await client.waitClosed()).toMatchObject({ code: CloseCode.HandshakeTimeout });
  });

  it('closes with 4008 when authentication outlasts the handshake timeout', async () => {
    const { rt, url } = await fx.server({ handshakeTimeoutMs: 100, authenticate: () => new Promise<false>(() => {}) });
    const client = await fx.client(url);
    client.send({ type: 'hello', v: 1, ack: 0 });
    expect(await client.waitClosed()).toMatchObject({ code: CloseCode.HandshakeTimeout });
    expect(rt.sessions.size).toBe(0);
  });

  it('keeps working when the application logger throws (it is called from timers and socket callbacks)', async () => {
    const calls: string[] = [];
    const throwing = (level: string) => (message: string) => {
      calls.push(`${level}: ${message}`);
      throw new Error(`logger ${level} broke`);
    };
    const logger = {
      debug: throwing('debug'),
      info: throwing('info'),
      warn: throwing('warn'),
      error: throwing('error'),
    };
    const { rt, url } = await fx.server({ logger, handshakeTimeoutMs: 100 });
    const errors: Error[] = [];
    rt.on('error', (e) => errors.push(e));
    rt.on('connection', (s: ServerSession) =>
      s.on('boom', () => {
        throw new Error('handler broke');
      }),
    );
    // Refused from the handshake timer: the refusal is logged first.
    const silent = await fx.client(url);
    expect(await silent.waitClosed()).toMatchObject({ code: CloseCode.HandshakeTimeout });
    // A throwing handler is logged and reported, from inside the socket's message callback.
    const { client } = await fx.connected(url);
    client.send({ type: 'event', seq: 1, event: 'boom', data: null });
    client.send({ type: 'event', seq: 2, event: 'boom', data: null });
    await until(() => errors.length === 2);
    expect(client.isOpen).toBe(true);
    expect(calls.some((c) => c.startsWith('info: surelink: refusing'))).toBe(true);
    expect(calls.some((c) => c.startsWith('error: surelink: session'))).toBe(true);
  });

  it('holds frames pipelined during authentication, up to 128 and one message in size (else 4400)', async () => {
    const pending: ((identity: string) => void)[] = [];
    const { rt, url } = await fx.server({
      maxFrameBytes: 1024,
      authenticate: () => new Promise<string>((resolve) => pending.push(resolve)),
    });
    const got: unknown[] = [];
    rt.on('connection', (s: ServerSession) => s.on('n', (n) => got.push(n)));

    // Held, then delivered in order after welcome.
    const held = await fx.client(url);
    held.send({ type: 'hello', v: 1, ack: 0 });
    for (let i = 1; i <= 3; i++) held.send({ type: 'event', seq: i, event: 'n', data: i });
    await until(() => pending.length === 1);
    pending[0]?.('ann');
    await held.next('welcome');
    await until(() => got.length === 3);
    expect(got).toEqual([1, 2, 3]);

    // Refused while authentication still runs: by count, and by size long before the count.
    const many = await fx.client(url);
    many.send({ type: 'hello', v: 1, ack: 0 });
    for (let i = 1; i <= 129; i++) many.send({ type: 'ping', ts: i });
    expect(await many.waitClosed()).toMatchObject({ code: CloseCode.ProtocolError });
    const big = await fx.client(url);
    big.send({ type: 'hello', v: 1, ack: 0 });
    for (let i = 1; i <= 2; i++) big.send({ type: 'event', seq: i, event: 'n', data: 'x'.repeat(600) });
    expect(await big.waitClosed()).toMatchObject({
      code: CloseCode.ProtocolError,
      reason: 'too many frames before welcome',
    });
    expect(rt.sessions.size).toBe(1);
  });

  it('closes with 4400 when the first frame is not hello', async () => {
    const { url } = await fx.server();
    const client = await fx.client(url);
    client.send({ type: 'event', seq: 1, event: 'chat', data: 'hi' });
    expect(await client.next('close')).toMatchObject({ code: CloseCode.ProtocolError });
    expect(await client.waitClosed()).toMatchObject({ code: CloseCode.ProtocolError });
  });

  it('refuses new sessions beyond maxSessions with 4429 and serves again when one ends', async () => {
    const { rt, url } = await fx.server({ maxSessions: 1 });
    const first = await fx.connected(url);
    const second = await fx.client(url);
    second.send({ type: 'hello', v: 1, ack: 0 });
    expect(await second.waitClosed()).toMatchObject({ code: CloseCode.TooManyRequests });

    rt.sessions.get(first.welcome.sid)?.close();
    await first.client.waitClosed();
    await expect(fx.connected(url)).resolves.toMatchObject({ welcome: { resumed: false } });
  });

  it('answers upgrades from origins that are not allowed with HTTP 403', async () => {
    const { url } = await fx.server({ allowedOrigins: ['https://good.example'] });
    await expect(RawClient.open(url, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    const good = await fx.client(url, { origin: 'https://good.example' });
    await expect(good.handshake()).resolves.toMatchObject({ type: 'welcome' });
  });

  it('refuses at construction an allowedOrigins or authenticate that would refuse every client', async () => {
    const bad = (options: object): Promise<unknown> => fx.server(options as never);
    // Each of these let the server start, then answered every browser 403 (or every client 4401).
    await expect(bad({ allowedOrigins: 'https://good.example' })).rejects.toThrow(/allowedOrigins must be an array/);
    await expect(bad({ allowedOrigins: null })).rejects.toThrow(/allowedOrigins must be an array/);
    // '*' and 'https://*.good.example' matched nothing either: no wildcards, a predicate does that.
    for (const entry of [
      'https://good.example/',
      'https://Good.example',
      'https://good.example:443',
      '',
      7,
      '*',
      'https://*.good.example',
    ])
      await expect(bad({ allowedOrigins: [entry] }), String(entry)).rejects.toThrow(
        /allowedOrigins: .* is not an origin/,
      );
    await expect(bad({ authenticate: 'secret' })).rejects.toThrow(/authenticate must be a function/);
    await expect(bad({ path: 7 })).rejects.toThrow(/path must start with/);
    // What browsers send is accepted, other schemes (extensions, apps) and 'null' as given.
    const { url } = await fx.server({
      allowedOrigins: ['https://good.example', 'http://127.0.0.1:8080', 'chrome-extension://abc', 'null'],
    });
    const good = await fx.client(url, { origin: 'https://good.example' });
    await expect(good.handshake()).resolves.toMatchObject({ type: 'welcome' });
  });

  it('leaves upgrades for other paths to other listeners', async () => {
    const { http, url } = await fx.server({ path: '/rt' });
    expect(url.endsWith('/rt')).toBe(true);
    const other = deferred<string | undefined>();
    http.on('upgrade', (req: IncomingMessage, socket: import('node:stream').Duplex) => {
      if (req.url === '/other') {
        other.resolve(req.url);
        socket.destroy();
      }
    });
    await expect(RawClient.open(url.replace('/rt', '/other'))).rejects.toThrow();
    expect(await other.promise).toBe('/other');
    await expect(fx.connected(url)).resolves.toBeDefined();
  });
});
