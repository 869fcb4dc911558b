// README.md's prose sections held to the code (readme.test.ts has the Quick start, the ts blocks,
// the Options table and the Errors paragraph): the endpoints and defaults of "Transports and
// fallback" (derived and resolved by the code itself, or measured where they are behaviour: the
// ack cadence, request()'s timeout), the test names and figures of "Guarantees and limits" (read
// from the test files), and the commands, files and dependencies of "On a fresh machine",
// "Examples" and "Packages and dependencies". Each failure names the README line that is false. Needs `npm run build` first (dist/ is named in README).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import { patience } from '../../src/client/connect-time.js';
import { resolveOptions } from '../../src/client/options.js';
import { AckScheduler, Inbox } from '../../src/protocol/sequence.js';
import { ConnectTimeoutError, FallbackError } from '../../src/errors/index.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { resolveOptions as resolveServerOptions } from '../../src/server/options.js';
import type { TransportFactory, TransportName } from '../../src/transports/transport.js';
import { FakeTransport } from '../helpers/fake-transport.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { amount, at, codeSpans, find, lineOf, paragraph, readme, root, section, table } from '../helpers/readme.js';

const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  engines: { node: string };
  exports: Record<string, { import: { types: string; default: string }; require: { default: string } }>;
  imports: Record<string, Record<string, string>>;
  unpkg: string;
  jsdelivr: string;
};

/** The README line `pattern` matches, or a failure that says what README no longer says. */
function claim(pattern: RegExp): { line: number; groups: string[] } {
  const found = find(pattern);
  expect(found, `README.md no longer says ${String(pattern)}: update this test with it`).toBeDefined();
  return found ?? { line: 0, groups: [] };
}

// ---------------------------------------------------------------------------------------------

/**
 * The endpoint each transport is given for `main`, as the client derives it: three transports
 * that record their URL and fail, so the client tries each once.
 */
async function endpointsFor(main: string, urls: Partial<Record<TransportName, string>> = {}) {
  const seen: Partial<Record<TransportName, string>> = {};
  const recorder = (name: TransportName): TransportFactory => ({
    name,
    isSupported: () => true,
    connect(url, handlers) {
      seen[name] = url;
      queueMicrotask(() => handlers.onClose({ code: 1006, reason: 'README test' }));
      return { name, send() {}, close() {} };
    },
  });
  const client = new RealtimeClient(main, {
    transports: [recorder('websocket'), recorder('sockjs'), recorder('longpoll')],
    urls,
    reconnect: false,
    rememberTransport: false,
    lifecycle: false,
  });
  client.on('error', () => {}); // the FallbackError the run ends with
  try {
    for (let waited = 0; Object.keys(seen).length < 3 && waited < 5000; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    client.close();
  }
  return seen;
}

describe('README "Transports and fallback": endpoints', () => {
  const { header, rows } = table('## Transports and fallback');
  const main = codeSpans(header.cells[1] ?? '')[0] ?? '';
  const stated = rows.map(({ line, cells: [name = '', url = '', serverSide = ''] }) => ({
    line,
    name: (codeSpans(name)[0] ?? '') as TransportName,
    url: codeSpans(url)[0] ?? '',
    serverSide,
  }));

  it('the table names the three transports, from a main URL', () => {
    expect(main, `${at(header.line)}: the header names the main URL`).toMatch(/^wss?:\/\//);
    expect(stated.map((r) => r.name).sort(), `${at(header.line)}: the transports`).toEqual([
      'longpoll',
      'sockjs',
      'websocket',
    ]);
  });

  it.each(stated)('row README.md:$line: $name gets $url from the main URL', async ({ line, name, url }) => {
    expect((await endpointsFor(main))[name], `${at(line)}: ${name} from ${main}`).toBe(url);
  });

  // "`url` is the WebSocket endpoint (`ws:`/`wss:`; `http:`/`https:` work too)": the same
  // endpoints, whichever scheme names them, with the port kept.
  it.each([
    [
      'ws://host:8080/realtime',
      'ws://host:8080/realtime',
      'http://host:8080/realtime/sockjs',
      'http://host:8080/realtime/poll',
    ],
    [
      'http://host:8080/realtime',
      'ws://host:8080/realtime',
      'http://host:8080/realtime/sockjs',
      'http://host:8080/realtime/poll',
    ],
    ['https://host/realtime', 'wss://host/realtime', 'https://host/realtime/sockjs', 'https://host/realtime/poll'],
  ])('%s gives %s, %s and %s', async (url, websocket, sockjs, longpoll) => {
    const line = lineOf('`url` is the WebSocket endpoint');
    expect(await endpointsFor(url), `${at(line)}: endpoints of ${url}`).toEqual({ websocket, sockjs, longpoll });
  });

  it('each endpoint is overridable with `urls`', async () => {
    const line = claim(/each overridable with `urls`/).line;
    const urls = { sockjs: 'https://other/sj', longpoll: 'https://other/lp' };
    expect(await endpointsFor(main, urls), `${at(line)}: urls overrides`).toMatchObject(urls);
  });

  describe('the server side answers on those paths', () => {
    let http: Server;
    let realtime: { close(): Promise<void> };
    let base = '';

    beforeAll(async () => {
      // The app's own handler comes first, as README says it must, and answers 418.
      http = createServer((_req, res) => void res.writeHead(418).end());
      realtime = createRealtimeServer({ server: http, path: '/realtime' });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await realtime.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });

    it('SockJS under the prefix /realtime/sockjs, long polling at /realtime/poll, the rest to the app', async () => {
      const sockjs = stated.find((r) => r.name === 'sockjs');
      const longpoll = stated.find((r) => r.name === 'longpoll');
      expect(sockjs?.serverSide, `${at(sockjs?.line ?? 0)}: the SockJS prefix`).toContain('prefix `/realtime/sockjs`');
      const info = await fetch(`${base}/realtime/sockjs/info`);
      expect(info.status, `${at(sockjs?.line ?? 0)}: SockJS answers /realtime/sockjs/info`).toBe(200);
      expect(await info.json()).toHaveProperty('websocket');
      const poll = await fetch(`${base}/realtime/poll?id=unknown`);
      expect(poll.status, `${at(longpoll?.line ?? 0)}: long polling answers /realtime/poll`).not.toBe(418);
      expect((await fetch(`${base}/elsewhere`)).status, 'other paths reach the app').toBe(418);
    });
  });
});

// ---------------------------------------------------------------------------------------------

/** How many deliveries make an ack go out at once, and how long a single one waits for its ack. */
function ackCadence(): { messages: number; delayMs: number } {
  const clock = new ManualClock();
  const scheduler = (inbox: Inbox, acks: number[]) => new AckScheduler({ clock, inbox, send: (ack) => acks.push(ack) });
  // Deliveries in one instant until an ack goes out without waiting.
  const flood = new Inbox();
  const floodAcks: number[] = [];
  const batching = scheduler(flood, floodAcks);
  while (floodAcks.length === 0 && flood.delivered < 100_000) {
    flood.accept(flood.delivered + 1);
    batching.delivered();
  }
  // One delivery, then time in 1 ms steps until its ack goes out.
  const single = new Inbox();
  const singleAcks: number[] = [];
  single.accept(1);
  scheduler(single, singleAcks).delivered();
  let delayMs = 0;
  while (singleAcks.length === 0 && delayMs < 100_000) {
    clock.advance(1);
    delayMs++;
  }
  return { messages: flood.delivered, delayMs };
}

const client = resolveOptions({});
const server = resolveServerOptions({ server: createServer() });

/**
 * Each default README states in prose, by the words that state it (one group per figure), with
 * what the code does by default: resolved client or server options, or measured behaviour.
 */
const DEFAULTS: readonly {
  readonly name: string;
  readonly says: RegExp;
  readonly is: () => readonly number[] | Promise<readonly number[]>;
}[] = [
  {
    name: 'connectTimeoutMs',
    says: /giving each `connectTimeoutMs` \(([\d.]+ \w+)\)/,
    is: () => [client.connectTimeoutMs],
  },
  {
    name: 'rememberTransport.ttlMs',
    says: /remembered in `localStorage` for (a day|[\d.]+ \w+) \(`rememberTransport`\)/,
    is: () => [client.rememberTransport ? client.rememberTransport.ttlMs : NaN],
  },
  {
    name: 'upgrade probe delays',
    says: /\(after ([\d.]+ \w+), backing off to ([\d.]+ \w+): `upgrade`\)/,
    is: () => (client.upgrade ? [client.upgrade.initialDelayMs, client.upgrade.maxDelayMs] : []),
  },
  {
    name: 'ack cadence',
    says: /acknowledgement \(every ([\d,]+) messages or ([\d.]+ \w+)\)/,
    is: () => {
      const { messages, delayMs } = ackCadence();
      return [messages, delayMs];
    },
  },
  { name: 'sessionGraceMs', says: /`sessionGraceMs`, default ([\d.]+ \w+)\)/, is: () => [server.sessionGraceMs] },
  {
    name: 'heartbeat deadline',
    says: /`heartbeat\.intervalMs \+ heartbeat\.timeoutMs`\*\* \(([\d.]+ \w+) by default\)/,
    is: () => (client.heartbeat ? [client.heartbeat.intervalMs + client.heartbeat.timeoutMs] : []),
  },
  // "Limits (server defaults)"
  { name: 'maxFrameBytes', says: /frames up to ([\d.]+ \w+) \(4413\)/, is: () => [server.maxFrameBytes] },
  {
    name: 'maxBufferedFrames',
    says: /([\d,]+) unacknowledged frames per\s+session/,
    is: () => [server.maxBufferedFrames],
  },
  { name: 'maxSessions', says: /([\d,]+) sessions per process \(4429\)/, is: () => [server.maxSessions] },
  {
    name: 'maxHandshakes',
    says: /([\d,]+) connections\s+in\s+their\s+handshake\s+at\s+once/,
    is: () => [server.maxHandshakes],
  },
  {
    name: 'requestRateLimit',
    says: /([\d,]+) requests a second per session with bursts of ([\d,]+)/,
    is: () => (server.requestRateLimit ? [server.requestRateLimit.perSecond, server.requestRateLimit.burst] : []),
  },
  {
    name: 'maxPendingRequests',
    says: /([\d,]+) request handlers of one session running at once/,
    is: () => [server.maxPendingRequests],
  },
  {
    name: 'maxSendBufferBytes',
    says: /while ([\d.]+ \w+) wait unsent on its WebSocket/,
    is: () => [server.maxSendBufferBytes],
  },
  {
    name: 'request() timeout',
    says: /rejects with `TimeoutError` \(default ([\d.]+ \w+)\)/,
    is: async () => [await requestTimeoutMs()],
  },
];

/** How long `request()` waits for a response by default: measured on a client that never connects. */
async function requestTimeoutMs(): Promise<number> {
  const clock = new ManualClock();
  const c = new RealtimeClient('ws://host/realtime', {
    transports: [new FakeTransport()],
    clock,
    autoConnect: false,
    lifecycle: false,
    rememberTransport: false,
  });
  let settled = false;
  const request = c.request('x').catch((error: unknown) => error);
  void request.then(() => (settled = true));
  // 1 ms at a time, letting the promises settle between steps.
  let waited = 0;
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (settled || waited >= 100_000) break;
    clock.advance(1);
    waited++;
  }
  const error = await request;
  c.close();
  expect(error, 'request() ends with a TimeoutError').toMatchObject({ code: 'TIMEOUT' });
  return waited;
}

describe('README defaults stated in prose', () => {
  it.each(DEFAULTS)('$name: the figure README states is the default', async ({ says, is }) => {
    const { line, groups } = claim(says);
    expect(
      groups.map(amount),
      `${at(line)}: ${groups.join(', ')} (in ms, bytes or items) is not the code's default`,
    ).toEqual(await is());
  });

  it('the connect times of a slow link are what each timed-out round gives next, until they stop growing', () => {
    const { line, groups } = claim(/gives each transport twice as long \(([^)]*)\)/);
    const stated = (groups[0] ?? '').split(/,\s*(?:then\s+)?/).map(amount);
    const given: number[] = [];
    const timedOut = new FallbackError([new ConnectTimeoutError('README test')]);
    for (let ms = client.connectTimeoutMs; given.length < 20;) {
      const next = patience(ms, timedOut);
      if (next === ms) break;
      given.push((ms = next));
    }
    expect(stated, `${at(line)}: the times each round gives, from \`connectTimeoutMs\` on`).toEqual(given);
  });
});

// ---------------------------------------------------------------------------------------------

/** Every test file under test/, by path from the root. */
const testFiles = (function walk(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? walk(`${dir}/${entry.name}`)
      : /\.test(-d)?\.ts$/.test(entry.name)
        ? [`${dir}/${entry.name}`]
        : [],
  );
})('test');

/** The files a README name stands for: a path from the root, or a test file's own name. */
function filesNamed(name: string): string[] {
  if (name.includes('/')) return existsSync(path.join(root, name)) ? [name] : [];
  if (/\.test\.ts$/.test(name)) return testFiles.filter((file) => path.basename(file) === name);
  return ['', 'dist/'].map((dir) => dir + name).filter((file) => existsSync(path.join(root, file)));
}

/** File names README mentions (in backticks or as a link), each with its line. */
const namedFiles = readme.flatMap((text, i) => {
  const names = [
    ...codeSpans(text).filter((span) =>
      /^(\.ci|test|src|scripts|docs|examples|dist|bench)\/|^[\w.-]+\.(test\.ts|mjs|min\.js)$/.test(span),
    ),
    ...[...text.matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((m) => m[1] ?? ''),
  ];
  return names.map((name) => ({ line: i + 1, name }));
});

describe('README names only files that exist', () => {
  it('names files', () => {
    expect(namedFiles.length).toBeGreaterThan(20);
  });

  it.each(namedFiles)('README.md:$line names $name', ({ line, name }) => {
    const files = filesNamed(name);
    expect(files.length, `${at(line)}: ${name} does not exist`).toBeGreaterThan(0);
    expect(files, `${at(line)}: ${name} names more than one file: write its path`).toHaveLength(1);
  });

  it('every page the Examples section names is in examples/', () => {
    const pages = section('Examples').flatMap(({ line, text }) =>
      codeSpans(text)
        .filter((span) => /^\/\w+\.html$/.test(span))
        .map((page) => ({ line, page })),
    );
    expect(pages.length).toBe(3);
    for (const { line, page } of pages)
      expect(existsSync(path.join(root, 'examples', page)), `${at(line)}: ${page}`).toBe(true);
  });
});

describe('README "Guarantees and limits": each sentence is checked by the test named after it', () => {
  const bullets = section('Guarantees and limits')
    .filter(({ text }) => text.startsWith('- '))
    .map(({ line }) => ({ line, text: paragraphOfBullet(line) }));

  it.each(bullets)('the bullet at README.md:$line names a test', ({ line, text }) => {
    expect(
      codeSpans(text).filter((s) => s.endsWith('.test.ts')),
      `${at(line)}: names no test`,
    ).not.toEqual([]);
  });

  /** Figures README gives for tests, and where the test files set them. */
  const FIGURES: readonly { says: RegExp; sets: readonly (readonly [file: string, pattern: RegExp])[] }[] = [
    {
      says: /([\d,]+) numbered messages each way through at least (\d+) cut WebSocket connections/,
      sets: [
        ['test/integration/delivery.test.ts', /const N = ([\d_]+);/],
        ['test/integration/delivery.test.ts', /expect\(cuts\)\.toBeGreaterThanOrEqual\((\d+)\)/],
      ],
    },
    {
      says: /([\d,]+) each way through at least (\d+) seeded random cuts on each transport/,
      sets: [
        ['test/faults/cuts.test.ts', /const N = ([\d_]+);/],
        ['test/faults/cuts.test.ts', /const MIN_CUTS = (\d+);/],
      ],
    },
    {
      says: /([\d,]+) each way arrive complete and in order over long polling and SockJS/,
      sets: [
        ['test/integration/longpoll.test.ts', /carries a flood of (\d+) numbered messages each way/],
        ['test/integration/sockjs.test.ts', /delivers (\d+) numbered messages each way/],
      ],
    },
    {
      says: /([\d,]+) clients cut at once .* no (\d+) ms of the planned retries holds (\d+%)/,
      sets: [
        ['test/faults/herd.test.ts', /const CLIENTS = (\d+);/],
        ['test/faults/herd.test.ts', /const BUCKET_MS = (\d+);/],
        ['test/faults/herd.test.ts', /const PEAK_BOUND = ([\d.]+) \* CLIENTS;/],
      ],
    },
    {
      says: /([\d,]+) connect\/drop cycles .* and ([\d,]+) against the real server/,
      sets: [
        ['test/faults/cycles.test.ts', /const CYCLES = ([\d_]+);/],
        ['test/faults/cycles.test.ts', /const REAL_CYCLES = ([\d_]+);/],
      ],
    },
    {
      says: /\(([\d,]+) against the codec, ([\d,]+) against the client,/,
      sets: [
        ['test/unit/codec-fuzz.test.ts', /survives [\d,]+ mutated frames[^]*?numRuns: ([\d_]+)/],
        ['test/unit/client-fuzz.test.ts', /expect\(frames\)\.toBeGreaterThanOrEqual\(([\d_]+)\)/],
      ],
    },
    {
      says: /session ids \((\d+) bits\) and resume tokens \((\d+) bits\)/,
      sets: [
        ['test/integration/security.test.ts', /'session ids: (\d+) bits/],
        ['test/integration/security.test.ts', /'resume tokens: (\d+) bits/],
      ],
    },
  ];

  /** The figure `pattern` finds in `file`: `10_000` and `10,000` are 10000; NaN when not found. */
  const figureIn = ([file, pattern]: readonly [string, RegExp]): number =>
    Number(pattern.exec(read(file))?.[1]?.replaceAll(/[_,]/g, '') ?? NaN);

  it.each(FIGURES.map((f) => ({ ...f, files: [...new Set(f.sets.map(([file]) => file))].join(', ') })))(
    'the figures README gives for $files are theirs',
    ({ says, sets, files }) => {
      const { line, groups } = claim(says);
      // The last figure README gives stands for the rest ("2,000 each way ... over long polling and SockJS").
      const said = sets.map((_, i) => amount(groups[Math.min(i, groups.length - 1)] ?? ''));
      expect(said, `${at(line)}: the figures of ${files}`).toEqual(sets.map(figureIn));
    },
  );
});

/** The text of the list item that starts on `line`, up to the next item or the section's end. */
function paragraphOfBullet(line: number): string {
  const lines = [readme[line - 1] ?? ''];
  for (let i = line; readme[i]?.startsWith('  '); i++) lines.push(readme[i] ?? '');
  return lines.map((text) => text.trim()).join(' ');
}

// ---------------------------------------------------------------------------------------------

describe('README commands', () => {
  /** Every npm command README names: in backticks, or on a line of a ```sh block. */
  let inSh = false;
  const commands = readme.flatMap((text, i) => {
    if (text.startsWith('```')) inSh = !inSh && text === '```sh';
    const code = inSh ? [text, ...codeSpans(text)] : codeSpans(text);
    return code.flatMap((span) =>
      [...span.matchAll(/\bnpm (run )?([\w:-]+)/g)].map(([, run, name = '']) => ({
        line: i + 1,
        name,
        run: Boolean(run),
      })),
    );
  });
  /** npm's own commands, which need no script. */
  const NPM_BUILTINS = new Set(['install', 'ci']);

  it.each(commands)('README.md:$line: npm $name exists', ({ line, name, run }) => {
    if (!run && NPM_BUILTINS.has(name)) return;
    expect(pkg.scripts, `${at(line)}: package.json has no script ${name}`).toHaveProperty([name]);
  });

  it('`npm test` runs every project of vitest.config.ts, each named in README', () => {
    const line = lineOf('npm test   ');
    expect(pkg.scripts.test, 'the test script runs vitest on every project').toMatch(/^npm run build && vitest run$/);
    const said = /runs every test \(([^)]*)\)/.exec(readme[line - 1] ?? '')?.[1] ?? '';
    // Each directory of test files, and the word README uses for it.
    const WORDS: Record<string, string> = {
      unit: 'unit',
      integration: 'integration',
      build: 'build artefacts',
      types: 'types',
      browser: 'Chromium and Firefox end-to-end',
      faults: 'fault injection',
    };
    for (const dir of new Set(testFiles.map((file) => file.split('/')[1] ?? ''))) {
      expect(WORDS, `test/${dir}/ has no README word in this test`).toHaveProperty([dir]);
      expect(said, `${at(line)}: npm test also runs test/${dir}/`).toContain(WORDS[dir]);
    }
  });

  it.each([
    ['size', /`npm run size` \(size budgets\)/, /scripts\/size\.mjs/],
    ['check:package', /`npm run check:package` \(publint, attw\)/, /^publint\b.*&& attw\b/],
    ['measure:fallback', /\(`npm run measure:fallback`;/, /scripts\/fallback-times\.mjs --write/],
  ] as const)('npm run %s does what README says it does', (name, says, runs) => {
    const { line } = claim(says);
    expect(pkg.scripts[name], `${at(line)}: the ${name} script`).toMatch(runs);
  });

  it('CI (.ci/run) does what README says, and prints the summary it quotes', () => {
    const line = lineOf('CI runs `.ci/run`');
    const text = paragraph(lineOf('Other scripts:'));
    const ci = read('.ci/run');
    for (const step of [
      'npm ci',
      'chromium',
      'npm run lint',
      'npm run typecheck',
      'npm run format:check',
      'npm test',
      'step "unit and Node tests on Node ${OTHER_NODES[*]}" other_nodes',
      'OTHER_NODES=(22.',
      'scripts/size.mjs',
      'npm run check:package',
    ])
      expect(ci, `${at(line)}: .ci/run runs ${step}`).toContain(step);
    const summary = /ends with `([^`]+)`/.exec(text)?.[1] ?? '';
    // `N` stands for a number: a placeholder of the template literal .ci/run prints, all of it.
    const printed = new RegExp(
      `\`${summary
        .split('N')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('\\$\\{\\w+\\}')}\``,
    );
    expect(summary, `${at(line)}: the summary line`).toMatch(/^N /);
    expect(ci, `${at(line)}: .ci/run ends with \`${summary}\``).toMatch(printed);
  });
});

describe('README "Examples"', () => {
  const source = (file: string): string => read(file);
  const CHECKS: readonly { says: RegExp; file: string; has: RegExp }[] = [
    {
      says: /`PORT=8081 npm start` for another port/,
      file: 'scripts/serve.mjs',
      has: /process\.env\.PORT \?\? 8080\b/,
    },
    {
      says: /the reference server behind\s+them at `\/realtime`/,
      file: 'scripts/examples-server.mjs',
      has: /REALTIME_PATH = '\/realtime'/,
    },
    {
      says: /Uses the script-tag bundle\s+`dist\/surelink\.min\.js`/,
      file: 'examples/chat.html',
      has: /<script src="\/dist\/surelink\.min\.js">/,
    },
    {
      says: /falls back to long polling when WebSocket is\s+blocked/,
      file: 'examples/chat.js',
      has: /transports: \[[^\]]*'longpoll'/,
    },
    { says: /the server pushes prices twice a second/, file: 'scripts/examples-demo.mjs', has: /tickMs = 500 \}/ },
    {
      says: /ESM build straight from `dist\/index\.js` through an import map/,
      file: 'examples/prices.js',
      has: /from '\/dist\/index\.js'/,
    },
    { says: /through an import map/, file: 'examples/prices.html', has: /<script type="importmap">/ },
    { says: /`client\.stream\('prices'\)`/, file: 'examples/prices.js', has: /client\.stream\('prices'\)/ },
    {
      says: /the queue is kept\s+in `sessionStorage`/,
      file: 'examples/lab.js',
      has: /webStorageStore\(sessionStorage\)/,
    },
    {
      says: /Debian's `\/usr\/bin\/chromium` driven by `playwright-core`/,
      file: 'test/helpers/browser.ts',
      has: /from 'playwright-core'[^]*CHROMIUM_PATH = '\/usr\/bin\/chromium'/,
    },
    {
      says: /Without Chromium those tests say so and\s+skip, except in CI \(`CI` set\), where they fail/,
      file: 'test/helpers/browser.ts',
      has: /if \(existsSync\(CHROMIUM_PATH\) \|\| process\.env\.CI\) return false;/,
    },
    {
      says: /Debian's `\/usr\/bin\/firefox-esr` \(153 ESR\) driven by `puppeteer-core`/,
      file: 'test/helpers/firefox.ts',
      has: /from 'puppeteer-core'[^]*FIREFOX_PATH = '\/usr\/bin\/firefox-esr'/,
    },
    {
      says: /`npm run screenshot:lab` plays that scenario in headless Chromium and writes the picture again/,
      file: 'scripts/screenshot-lab.mjs',
      has: /path\.join\(root, 'docs', 'screenshot-lab\.png'\)/,
    },
    {
      says: /`npm run bench`\s+\(writes \[BENCHMARKS\.md\]/,
      file: 'bench/run.mjs',
      has: /process\.env\.BENCH_OUT \?\? \(quick \? '[^']*' : 'BENCHMARKS\.md'\)/,
    },
  ];

  it.each(CHECKS.map((c) => ({ ...c, name: c.says.source })))('$name ($file)', ({ says, file, has }) => {
    const { line } = claim(says);
    expect(source(file), `${at(line)}: ${file} does not do what README says`).toMatch(has);
  });

  it('loads everything from localhost: no page or script of examples/ names another host', () => {
    const { line } = claim(/Everything loads from localhost; no CDN, no bundler/);
    for (const file of readdirSync(path.join(root, 'examples'), { recursive: true, encoding: 'utf8' })) {
      if (!/\.(html|js|css)$/.test(file)) continue;
      const remote = /(?:src|href)="https?:\/\/|from ['"]https?:\/\/|import\(['"]https?:\/\/|url\(['"]?https?:\/\//;
      expect(read(`examples/${file}`), `${at(line)}: examples/${file} loads from another host`).not.toMatch(remote);
    }
  });
});

describe('README "Packages and dependencies"', () => {
  const { rows } = table('## Packages and dependencies');
  const dist = (file: string): string => read(`dist/${file}`);
  const strip = (file: string): string => file.replace(/^\.\//, '');

  it.each(rows)('row README.md:$line: the built files are what package.json points at', ({ line, cells }) => {
    const [name = '', , built = ''] = cells;
    const files = codeSpans(built).filter((f) => f.startsWith('dist/'));
    for (const file of files) expect(existsSync(path.join(root, file)), `${at(line)}: ${file} is built`).toBe(true);
    const entry = { surelink: '.', 'surelink/server': './server' }[codeSpans(name)[0] ?? ''];
    if (entry === undefined) {
      expect(files, `${at(line)}: the script-tag bundle is package.json's unpkg`).toContain(strip(pkg.unpkg));
      return;
    }
    const exported = pkg.exports[entry];
    expect(files.sort(), `${at(line)}: package.json exports ${entry} as`).toEqual(
      [exported?.import.default ?? '', exported?.require.default ?? ''].map(strip).sort(),
    );
    expect(built, `${at(line)}: with declarations`).toContain('`.d.ts`');
    expect(exported?.import.types).toMatch(/\.d\.ts$/);
  });

  const text = paragraph(lineOf("The client's runtime dependencies are"));
  const line = lineOf("The client's runtime dependencies are");

  it("names the client's runtime dependencies, which the ESM and CJS builds leave external", () => {
    const named = codeSpans(/runtime dependencies are ([^;]*);/.exec(text)?.[1] ?? '');
    expect(named.sort(), `${at(line)}: package.json's dependencies`).toEqual(Object.keys(pkg.dependencies).sort());
    expect(dist('index.js'), `${at(line)}: dist/index.js imports eventemitter3`).toMatch(/from ['"]eventemitter3['"]/);
  });

  it.each(['index.js', 'index.cjs'])('dist/%s loads sockjs-client only through a lazy import()', (file) => {
    expect(text, `${at(line)}: the name it loads`).toContain("`import('#sockjs-client')`");
    expect(dist(file), `${at(line)}: the lazy import()`).toMatch(/import\(\s*['"]#sockjs-client['"]\s*\)/);
    expect(dist(file), `${at(line)}: no eager load`).not.toMatch(/(from |require\(\s*)['"]#?sockjs-client['"]/);
  });

  it("maps #sockjs-client to sockjs-client's browser script for bundlers and its CommonJS entry in Node", () => {
    const target = pkg.imports['#sockjs-client'];
    expect(target, `${at(line)}: package.json imports`).toEqual({
      types: 'sockjs-client',
      browser: 'sockjs-client/dist/sockjs.min.js',
      node: 'sockjs-client',
      default: 'sockjs-client/dist/sockjs.min.js',
    });
    expect(existsSync(path.join(root, 'node_modules', target?.browser ?? '-')), 'the browser script exists').toBe(true);
    expect(text, `${at(line)}: README says so`).toMatch(/browser script[\s\S]*CommonJS entry in Node/);
  });

  it('ws and sockjs are optional peer dependencies, which only the server build imports', () => {
    expect(text, `${at(line)}: the optional peers`).toContain('`ws` and `sockjs` are **optional peer dependencies**');
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['sockjs', 'ws']);
    for (const peer of ['sockjs', 'ws']) {
      expect(pkg.peerDependenciesMeta[peer]?.optional, `${at(line)}: ${peer} is optional`).toBe(true);
      expect(dist('server.js'), `${at(line)}: dist/server.js imports ${peer}`).toMatch(new RegExp(`from '${peer}'`));
      expect(dist('index.js'), `${at(line)}: the client never imports ${peer}`).not.toMatch(
        new RegExp(`from '${peer}'`),
      );
    }
  });

  it.each([
    ['unpkg', /https:\/\/unpkg\.com\/surelink\/(\S+?)"/],
    ['jsdelivr', /https:\/\/cdn\.jsdelivr\.net\/npm\/surelink\/(\S+?) /],
  ] as const)('the %s URL of "Install" is the file package.json gives that CDN', (cdn, says) => {
    const { line, groups } = claim(says);
    expect(groups[0], `${at(line)}: package.json's ${cdn}`).toBe(strip(pkg[cdn]));
  });

  it('needs Node 20 or later', () => {
    expect(text, `${at(line)}: the Node version`).toContain('Node 20 or later');
    expect(pkg.engines.node).toBe('>=20');
  });
});
