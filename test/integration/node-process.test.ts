// The client in real Node programs, not in vitest's process: each case is a script
// (test/fixtures/node-process/) run by `node --unhandled-rejections=strict` on the built package
// (`dist/`, through its own `exports`: ESM and CJS), against a surelink server in another child.
// Each must end with exit code 0 and an empty stderr (an unhandled rejection kills it with a
// non-zero code), and exit by itself once it called `close()`: no timer, socket or request left
// holding the event loop, even when the server died or stopped answering (but on Node's own
// WebSocket, last below: README tells Node scripts to pass `ws`). Needs `npm run build`.
// NODE_PROCESS_TIMES=1 prints how long each exit took after `close()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/node-process');
/** Generous: every exit measured here takes well under 1.5 s; `ws` alone held one for 30 s. */
const EXIT_WITHIN_MS = 8000;
const children = new Set<ChildProcess>();
/** Node 22 and later have a global WebSocket (undici's); Node 20 has it behind a flag. */
const GLOBAL_WEBSOCKET_FLAGS = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket'];
const times: string[] = [];

interface Child {
  readonly child: ChildProcess;
  readonly stdout: string[];
  /** Resolves when stdout has a line starting with `prefix`; rejects after `ms`. */
  line(prefix: string, ms?: number): Promise<string>;
  /** Exit code, signal, stderr and ms from the `closed` line to the exit; rejects after `ms`. */
  exit(ms?: number): Promise<{ code: number | null; signal: string | null; stderr: string; afterClose: number }>;
}

function start(script: string, args: readonly string[], env: Record<string, string> = {}): Child {
  const flags = script === 'client-global.mjs' ? GLOBAL_WEBSOCKET_FLAGS : [];
  const child = spawn(process.execPath, ['--unhandled-rejections=strict', ...flags, script, ...args], {
    cwd: fixtures,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const stdout: string[] = [];
  let stderr = '';
  let closedAt = 0;
  const waiting = new Set<() => void>();
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'closed') closedAt = Date.now();
      stdout.push(line);
    }
    for (const wake of waiting) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const bounded = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms; stdout: ${stdout.join(' | ')}`)), ms);
        void promise.finally(() => clearTimeout(timer));
      }),
    ]);
  return {
    child,
    stdout,
    line(prefix, ms = 10_000) {
      return bounded(
        new Promise<string>((resolve) => {
          const check = () => {
            const found = stdout.find((l) => l.startsWith(prefix));
            if (found === undefined) return;
            waiting.delete(check);
            resolve(found);
          };
          waiting.add(check);
          check();
        }),
        ms,
        `no line "${prefix}…"`,
      );
    },
    async exit(ms = EXIT_WITHIN_MS) {
      const { code, signal } = await bounded(exited, ms, `${script} ${args.join(' ')} did not exit`);
      const afterClose = closedAt ? Date.now() - closedAt : -1;
      times.push(`${script} ${args.slice(1).join(' ')}: exit ${afterClose} ms after close()`);
      return { code, signal, stderr, afterClose };
    },
  };
}

/** A server child; resolves to it and its port. */
async function server(env: Record<string, string> = {}): Promise<{ port: string; child: ChildProcess }> {
  const s = start('server.mjs', [], env);
  const port = (await s.line('port ')).slice(5);
  return { port, child: s.child };
}

/** Runs a client script to its end, expecting a clean exit on its own; returns its stdout. */
async function clean(script: string, args: readonly string[]): Promise<string[]> {
  const c = start(script, args);
  const { code, signal, stderr } = await c.exit();
  expect({ code, signal, stderr }, c.stdout.join('\n')).toEqual({ code: 0, signal: null, stderr: '' });
  return c.stdout;
}

/** A port nothing listens on (taken, then let go). */
async function freePort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return String(port);
}

// One server for the cases that do not hurt it, and one for each refusal.
const shared = server();
const throwing = server({ AUTH: 'throw' });
const rejecting = server({ AUTH: 'reject' });

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  if (process.env.NODE_PROCESS_TIMES) console.log(times.sort().join('\n'));
});

const TRANSPORTS = ['websocket', 'sockjs', 'longpoll'] as const;
const BUILDS = [
  ['ESM', 'client.mjs'],
  ['CJS', 'client.cjs'],
] as const;

describe.concurrent.each(TRANSPORTS)('a Node script on %s', (transport) => {
  it.each(BUILDS)('%s: connects, sends, gets a reply and a request answered, closes and exits', async (_, script) => {
    const { port } = await shared;
    expect(await clean(script, [port, transport, 'round-trip'])).toEqual([
      'reply {"echo":{"text":"hi"}}',
      'request ok 3',
      `transport ${transport}`,
      'closed',
    ]);
  });

  it('exits after close() while connecting', async () => {
    const { port } = await shared;
    expect(await clean('client.mjs', [port, transport, 'close-while-connecting'])).toEqual([
      'state connecting',
      'closed',
    ]);
  });

  it('exits after close() with an unsent message, which close() returns', async () => {
    const { port } = await shared;
    expect(await clean('client.mjs', [port, transport, 'unsent'])).toEqual(['undelivered 1', 'closed']);
  });

  it.each(BUILDS)('%s: exits after close() with a request pending, which rejects with CLOSED', async (_, script) => {
    const { port } = await shared;
    expect(await clean(script, [port, transport, 'pending-request'])).toEqual(['closed', 'request CLOSED']);
  });

  it('exits after close() with a ping pending, which rejects with CLOSED', async () => {
    const { port } = await shared;
    expect(await clean('client.mjs', [port, transport, 'pending-ping'])).toEqual(['closed', 'ping CLOSED']);
  });

  it('exits after close() with a stream iterator abandoned', async () => {
    const { port } = await shared;
    expect(await clean('client.mjs', [port, transport, 'stream'])).toEqual(['streamed {"echo":{"n":1}}', 'closed']);
  });

  it('exits after close() while reconnecting to a port that refuses connections', async () => {
    const out = await clean('client.mjs', [await freePort(), transport, 'refused']);
    expect(out[0]).toBe('error TRANSPORT');
    expect(out.slice(-3)).toEqual(['request TIMEOUT', expect.stringMatching(/^state (re)?connecting$/), 'closed']);
  });

  it.each([
    ['throws', throwing],
    ['returns false', rejecting],
  ])('stops and exits when authenticate %s (4401)', async (_, refusing) => {
    const { port } = await refusing;
    expect(await clean('client.mjs', [port, transport, 'auth-refused'])).toEqual([
      'error AUTH_REJECTED',
      'request CLOSED',
      'state closed',
      'closed',
    ]);
  });

  it('without an error listener: errors are events, never thrown at the script', async () => {
    const { port } = await rejecting;
    expect(await clean('client.mjs', [port, transport, 'no-error-listener'])).toEqual([
      'request CLOSED',
      'state closed',
      'closed',
    ]);
  });

  it.each(BUILDS)('%s: the server SIGKILLed mid-session: reconnects, then close() exits', async (_, script) => {
    const s = await server();
    const c = start(script, [s.port, transport, 'server-killed']);
    await c.line('ready');
    s.child.kill('SIGKILL');
    c.child.stdin!.end('go\n');
    const { code, signal, stderr } = await c.exit();
    expect({ code, signal, stderr }, c.stdout.join('\n')).toEqual({ code: 0, signal: null, stderr: '' });
    expect(c.stdout.slice(0, 2)).toEqual(['request ok 2', 'ready']);
    expect(c.stdout).toContain('ping NOT_CONNECTED');
    expect(c.stdout).toContain('request TIMEOUT');
    expect(c.stdout.slice(-2)).toEqual(['closed', 'held CLOSED']);
  });

  // The server's process stopped (SIGSTOP): its sockets stay open and nothing answers, as with a
  // frozen server or a cut network. close() cannot get its goodbye across; the process must
  // still end. It did not: `ws` waited 30 s for the close handshake, long polling's last POST and
  // DELETE 5 minutes each (undici's headers timeout).
  // sockjs-client's own WebSocket in Node (faye-websocket) still waits 30 s: README says so and
  // advises SockJS without it, which is what runs here.
  it.each(BUILDS)('%s: the server stops answering: close() still lets the process exit', async (_, script) => {
    const s = await server();
    const c = start(script, [s.port, transport === 'sockjs' ? 'sockjs-xhr' : transport, 'server-frozen']);
    try {
      await c.line('ready');
      s.child.kill('SIGSTOP');
      c.child.stdin!.end('go\n');
      const { code, signal, stderr } = await c.exit();
      expect({ code, signal, stderr }, c.stdout.join('\n')).toEqual({ code: 0, signal: null, stderr: '' });
      expect(c.stdout.slice(-4)).toEqual(['request TIMEOUT', 'ping TIMEOUT', 'closed', 'held CLOSED']);
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  // The same after the heartbeat found the link dead: long polling's DELETE waited 5 minutes.
  it('the server stops answering: the heartbeat finds the link dead, and close() lets the process exit', async () => {
    const s = await server();
    const c = start('client.mjs', [s.port, transport === 'sockjs' ? 'sockjs-xhr' : transport, 'heartbeat-frozen']);
    try {
      await c.line('ready');
      s.child.kill('SIGSTOP');
      c.child.stdin!.end('go\n');
      const { code, signal, stderr } = await c.exit();
      expect({ code, signal, stderr }, c.stdout.join('\n')).toEqual({ code: 0, signal: null, stderr: '' });
      expect(c.stdout.slice(-2)).toEqual([
        'link lost {"code":4000,"reason":"heartbeat timeout","willReconnect":true}',
        'closed',
      ]);
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  // Expected, as with an open `ws` socket (README: "In Node"): a script ends its client with close().
  it('a client left open keeps the process running', async () => {
    const { port } = await shared;
    const c = start('client.mjs', [port, transport, 'left-open']);
    await c.line('open');
    await expect(c.exit(1500)).rejects.toThrow('did not exit');
    c.child.kill('SIGKILL');
  });
});

// Node's own WebSocket (undici's: global from Node 22, behind --experimental-websocket on Node 20),
// passed as `WebSocket` instead of `ws` (client-global.mjs). It works, and close() lets the process
// exit when the server answers; but it has no `terminate()`, so a close() the server never answers
// holds its socket, and the process, for as long as TCP keeps the link: README ("In Node") says so
// and tells Node scripts to pass `ws`.
describe.concurrent("a Node script on Node's own WebSocket", () => {
  it('connects, sends, gets a reply and a request answered, closes and exits', async () => {
    const { port } = await shared;
    expect(await clean('client-global.mjs', [port, 'websocket', 'round-trip'])).toEqual([
      'reply {"echo":{"text":"hi"}}',
      'request ok 3',
      'transport websocket',
      'closed',
    ]);
  });

  it('exits after close() with a request pending, which rejects with CLOSED', async () => {
    const { port } = await shared;
    expect(await clean('client-global.mjs', [port, 'websocket', 'pending-request'])).toEqual([
      'closed',
      'request CLOSED',
    ]);
  });

  it('the server SIGKILLed mid-session: reconnects, then close() exits', async () => {
    const s = await server();
    const c = start('client-global.mjs', [s.port, 'websocket', 'server-killed']);
    await c.line('ready');
    s.child.kill('SIGKILL');
    c.child.stdin!.end('go\n');
    const { code, signal, stderr } = await c.exit();
    expect({ code, signal, stderr }, c.stdout.join('\n')).toEqual({ code: 0, signal: null, stderr: '' });
    expect(c.stdout.slice(-2)).toEqual(['closed', 'held CLOSED']);
  });

  // Where `ws` exits within about 1 s (above), undici waits for the server's close frame.
  it('the server stops answering: close() does not let the process exit (README: pass `ws`)', async () => {
    const s = await server();
    const c = start('client-global.mjs', [s.port, 'websocket', 'server-frozen']);
    try {
      await c.line('ready');
      s.child.kill('SIGSTOP');
      c.child.stdin!.end('go\n');
      await c.line('closed');
      await expect(c.exit(3000)).rejects.toThrow('did not exit');
    } finally {
      c.child.kill('SIGKILL');
      s.child.kill('SIGKILL');
    }
  });

  it('the server stops answering: after the heartbeat found the link dead, close() does not let the process exit', async () => {
    const s = await server();
    const c = start('client-global.mjs', [s.port, 'websocket', 'heartbeat-frozen']);
    try {
      await c.line('ready');
      s.child.kill('SIGSTOP');
      c.child.stdin!.end('go\n');
      await c.line('link lost');
      await c.line('closed');
      await expect(c.exit(3000)).rejects.toThrow('did not exit');
    } finally {
      c.child.kill('SIGKILL');
      s.child.kill('SIGKILL');
    }
  });
});
