/**
 * Requests against the real server across drops: a handler still running when the link goes, a
 * response the drop swallowed, handlers that fail in odd ways or finish after their session ended,
 * aborts, and the order events and requests reach the server in.
 */
import { describe, expect, it } from 'vitest';
import { AbortError, type RemoteError } from '../../src/errors/index.js';
import type { ServerSession } from '../../src/server/index.js';
import { until, useHarness } from '../helpers/harness.js';
import { SockJS } from '../faults/helpers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

type Events = Record<string, unknown>;

const { server, client, defer } = useHarness<Events, Events>({ reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });

async function setup(serverOptions: Parameters<typeof server>[0] = {}) {
  const s = await server(serverOptions);
  const proxy = await TcpProxy.start(s.port);
  defer(() => proxy.close());
  const sessions: ServerSession[] = [];
  s.rt.on('connection', (session) => sessions.push(session));
  return { s, proxy, sessions, url: `ws://127.0.0.1:${proxy.port}/realtime` };
}

/** Cuts every link and waits until the server saw `session` drop (it may be back at once). */
async function cut(proxy: TcpProxy, session: ServerSession | undefined): Promise<void> {
  const dropped = gate();
  const off = session?.on('disconnect', () => dropped.open());
  proxy.cut();
  await dropped.promise;
  off?.();
}

/** A promise and its resolve, for a handler to wait on. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A 'slow' handler that waits for `release`, then answers `result`; counts its runs, and sees its answer written. */
function slowHandler(s: Awaited<ReturnType<typeof setup>>['s'], result: unknown) {
  const h = { release: gate(), runs: 0, answered: false };
  s.rt.handle('slow', async () => {
    h.runs++;
    await h.release.promise;
    setImmediate(() => (h.answered = true)); // the response is written a microtask after the return
    return result;
  });
  return h;
}

describe('requests across drops, against the real server', () => {
  it.each([
    ['websocket', false],
    ['longpoll', true],
    ['sockjs', true],
  ] as const)(
    'a handler still running when the link drops runs once; its response arrives after the resume (%s)',
    async (fallback, refuseWebSocket) => {
      const { s, proxy, url, sessions } = await setup();
      const release = gate<string>();
      let runs = 0;
      s.rt.handle('slow', async (data) => {
        runs++;
        return `${String(data)}:${await release.promise}`;
      });
      const c = client(url, {
        transports: fallback === 'websocket' ? ['websocket'] : ['websocket', fallback],
        SockJS,
        upgrade: false,
        rememberTransport: false,
      });
      const opens: boolean[] = [];
      c.on('open', ({ resumed }) => opens.push(resumed));
      await c.waitFor('open', { timeoutMs: 5000 });
      const answer = c.request('slow', 'x', { timeoutMs: 20_000 });
      await until(() => runs === 1);
      if (refuseWebSocket) proxy.mode = 'refuse-upgrade';
      await cut(proxy, sessions[0]);
      await until(() => opens.length === 2);
      expect(c.transport).toBe(fallback);
      release.open('done');
      await expect(answer).resolves.toBe('x:done');
      expect(runs).toBe(1);
      expect(opens).toEqual([false, true]);
      expect(sessions).toHaveLength(1);
    },
    30_000,
  );

  it.each(['longpoll', 'sockjs'] as const)(
    'a handler still running when the upgrade probe moves the session from %s to websocket answers once',
    async (fallback) => {
      const { s, proxy, url, sessions } = await setup();
      const release = gate();
      let runs = 0;
      s.rt.handle('slow', async () => {
        runs++;
        await release.promise;
        return 'late';
      });
      proxy.mode = 'refuse-upgrade';
      const c = client(url, {
        transports: ['websocket', fallback],
        SockJS,
        upgrade: { initialDelayMs: 100, maxDelayMs: 100 },
        rememberTransport: false,
      });
      await c.waitFor('open', { timeoutMs: 5000 });
      expect(c.transport).toBe(fallback);
      const answer = c.request('slow', undefined, { timeoutMs: 20_000 });
      await until(() => runs === 1);
      proxy.mode = 'forward';
      await until(() => c.transport === 'websocket');
      release.open();
      await expect(answer).resolves.toBe('late');
      expect(runs).toBe(1);
      expect(sessions).toHaveLength(1);
    },
    30_000,
  );

  it('a handler that answers while the server still holds the half-open link: the resume replays it', async () => {
    const { s, proxy, url, sessions } = await setup({ heartbeat: { intervalMs: 60_000, timeoutMs: 60_000 } });
    const slow = slowHandler(s, 7);
    const c = client(url, { heartbeat: { intervalMs: 100, timeoutMs: 100 }, transports: ['websocket'] });
    const opens: boolean[] = [];
    c.on('open', ({ resumed }) => opens.push(resumed));
    await c.waitFor('open', { timeoutMs: 5000 });
    const answer = c.request('slow', undefined, { timeoutMs: 20_000 });
    await until(() => slow.runs === 1);
    proxy.silence();
    slow.release.open(); // written to the silent link, which the server still takes for alive
    await until(() => slow.answered);
    expect(sessions[0]?.connected).toBe(true);
    await expect(answer).resolves.toBe(7); // the client's heartbeat gives the link up and resumes
    expect(opens).toEqual([false, true]);
    expect(slow.runs).toBe(1);
  });

  it('a response written but swallowed by the drop is replayed on resume; the handler ran once', async () => {
    const { s, proxy, url, sessions } = await setup();
    const slow = slowHandler(s, 42);
    const c = client(url);
    await c.waitFor('open', { timeoutMs: 5000 });
    const answer = c.request('slow', undefined, { timeoutMs: 20_000 });
    await until(() => slow.runs === 1);
    proxy.mode = 'blackhole'; // the response goes nowhere, and no ack for it comes back
    slow.release.open();
    await until(() => slow.answered);
    proxy.mode = 'forward';
    proxy.cut();
    await expect(answer).resolves.toBe(42);
    expect(slow.runs).toBe(1);
    expect(sessions).toHaveLength(1);
  });

  it('answers odd handler outcomes: undefined, a non-Error rejection, BigInt, a cycle', async () => {
    const { s, url } = await setup();
    const errors: Error[] = [];
    s.rt.on('error', (e) => errors.push(e));
    s.rt.handle('nothing', () => undefined);
    s.rt.handle('string', () => Promise.reject('nope'));
    s.rt.handle('null', () => Promise.reject(null));
    s.rt.handle('coded', () => Promise.reject({ code: 'GONE' }));
    s.rt.handle('big', () => 10n);
    s.rt.handle('cycle', () => {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    });
    const c = client(url);
    await c.waitFor('open', { timeoutMs: 5000 });
    const settle = (p: Promise<unknown>) =>
      p.then(
        (v) => ({ ok: v }),
        (e: RemoteError) => ({ code: e.remoteCode, message: e.message }),
      );
    expect(await settle(c.request('nothing'))).toEqual({ ok: undefined });
    expect(await settle(c.request('string'))).toMatchObject({ code: 'HANDLER_ERROR' });
    expect(await settle(c.request('null'))).toMatchObject({ code: 'HANDLER_ERROR' });
    expect(await settle(c.request('coded'))).toMatchObject({ code: 'GONE' });
    expect(await settle(c.request('big'))).toMatchObject({ code: 'HANDLER_ERROR' });
    expect(await settle(c.request('cycle'))).toMatchObject({ code: 'HANDLER_ERROR' });
    expect(c.state).toBe('open');
    await until(() => errors.length === 4); // string, null, big, cycle: unexpected ones
  });

  it.each(['close', 'expire'] as const)(
    'a handler that resolves after its session ended (%s) is dropped quietly',
    async (how) => {
      const { s, proxy, url, sessions } = await setup({ sessionGraceMs: how === 'expire' ? 100 : 60_000 });
      const errors: Error[] = [];
      s.rt.on('error', (e) => errors.push(e));
      const release = gate();
      let done = false;
      let runs = 0;
      s.rt.handle('slow', async () => {
        runs++;
        await release.promise;
        setImmediate(() => (done = true));
        return 1;
      });
      const c = client(url, { transports: ['websocket'] });
      await c.waitFor('open', { timeoutMs: 5000 });
      const answer = c.request('slow', undefined, { timeoutMs: 20_000 }).catch((e: Error) => e);
      await until(() => runs === 1);
      const ended = gate();
      sessions[0]!.on('end', () => ended.open());
      if (how === 'close') sessions[0]!.close();
      else {
        proxy.mode = 'refuse-upgrade'; // no resume until the grace period is over
        proxy.cut();
      }
      await ended.promise;
      proxy.mode = 'forward';
      release.open();
      await until(() => done);
      expect(errors).toEqual([]);
      expect(((await answer) as Error).name).toMatch(/SessionLostError|ClosedError/);
    },
    15_000,
  );

  it('many requests of one name in flight, answered out of order, each get their own response', async () => {
    const { s, url } = await setup();
    const gates = new Map<number, ReturnType<typeof gate<void>>>();
    s.rt.handle('n', async (data) => {
      const g = gate();
      gates.set(data as number, g);
      await g.promise;
      return (data as number) * 10;
    });
    const c = client(url);
    await c.waitFor('open', { timeoutMs: 5000 });
    const N = 20;
    const answers = Array.from({ length: N }, (_, i) => c.request('n', i));
    await until(() => gates.size === N);
    for (let i = N - 1; i >= 0; i--) gates.get(i)!.open();
    expect(await Promise.all(answers)).toEqual(Array.from({ length: N }, (_, i) => i * 10));
  });

  it('a request aborted after the server got it: the handler runs, the late response is ignored quietly', async () => {
    const { s, url } = await setup();
    const slow = slowHandler(s, 1);
    const c = client(url);
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await c.waitFor('open', { timeoutMs: 5000 });
    const controller = new AbortController();
    const answer = c.request('slow', undefined, { signal: controller.signal });
    await until(() => slow.runs === 1);
    controller.abort();
    await expect(answer).rejects.toBeInstanceOf(AbortError);
    slow.release.open();
    await until(() => slow.answered);
    expect(await c.request('slow')).toBe(1); // the link is fine, and the late response went nowhere
    expect(errors).toEqual([]);
    expect(c.state).toBe('open');
  });

  it('a handler registered after the request arrived does not answer it (NO_HANDLER at arrival)', async () => {
    const { s, url } = await setup();
    const c = client(url);
    await c.waitFor('open', { timeoutMs: 5000 });
    const answer = c.request('late');
    await expect(answer).rejects.toMatchObject({ remoteCode: 'NO_HANDLER' });
    s.rt.handle('late', () => 'ok');
    expect(await c.request('late')).toBe('ok');
  });

  it('events and requests sent across a drop reach the server in the order they were sent', async () => {
    const { s, proxy, url, sessions } = await setup();
    const order: string[] = [];
    s.rt.on('connection', (session) => session.on('e', (v) => order.push(`e${String(v)}`)));
    s.rt.handle('q', async (v) => {
      order.push(`q${String(v)}`);
      await new Promise((r) => setTimeout(r, 5));
      return v;
    });
    const c = client(url);
    await c.waitFor('open', { timeoutMs: 5000 });
    const answers: Promise<unknown>[] = [];
    const expected: string[] = [];
    let k = 0;
    const burst = (): void => {
      for (let i = 0; i < 10; i++, k++) {
        if (k % 3 === 0) answers.push(c.request('q', k, { timeoutMs: 20_000 }));
        else c.send('e', k);
        expected.push(`${k % 3 === 0 ? 'q' : 'e'}${k}`);
      }
    };
    burst();
    const dropped = cut(proxy, sessions[0]);
    burst(); // while the link is down
    await dropped;
    burst();
    await c.waitFor('open', { timeoutMs: 5000 });
    burst();
    await Promise.all(answers);
    await until(() => order.length === expected.length);
    expect(order).toEqual(expected);
  });

  it('a broadcast while a session is away or mid-resume reaches it once, in order', async () => {
    const authenticating = gate();
    let holding = false;
    let held = 0;
    const { s, proxy, url, sessions } = await setup({
      authenticate: async () => {
        if (holding) held++;
        if (holding) await authenticating.promise;
        return 'ann';
      },
    });
    const c = client(url);
    const got: unknown[] = [];
    c.on('b', (v) => got.push(v));
    await c.waitFor('open', { timeoutMs: 5000 });
    s.rt.broadcast('b', 1);
    holding = true;
    proxy.cut();
    await until(() => sessions[0]?.connected === false);
    s.rt.broadcast('b', 2); // away
    await until(() => held > 0);
    s.rt.broadcast('b', 3); // the resume is authenticating
    authenticating.open();
    await c.waitFor('open', { timeoutMs: 5000 });
    s.rt.broadcast('b', 4);
    await until(() => got.length >= 4);
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([1, 2, 3, 4]);
    expect(sessions).toHaveLength(1);
  });
});
