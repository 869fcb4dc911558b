// The package in a Vite app, in real Chromium: the dev server first (what a developer meets on
// `npm run dev`: Vite pre-bundles 'surelink' and the sockjs-client chunk it loads lazily, with
// Rolldown since Vite 8), then the production build. test/browser/bundled.test.ts covers esbuild's
// bundle. Each transport connects and exchanges an event with the examples server's reference server
// (its demo echoes requests and logs 'lab:message' events). The app lives in a temporary directory
// whose node_modules/surelink links to this package; `resolve.preserveSymlinks` keeps Vite seeing an
// installed dependency there (a linked one outside node_modules would be served as source instead).
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type * as Vite from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/index.js';
import {
  collectPageErrors,
  deliveries,
  skipBrowserTests,
  useChromium,
  WAIT,
  withExamples,
  type ExamplesServer,
} from '../helpers/browser.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const MAIN = `
  import { RealtimeClient } from 'surelink';
  window.connect = (url, transports) => {
    window.client = new RealtimeClient(url, { transports, rememberTransport: false, upgrade: false });
  };
`;
const INDEX = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><script type="module" src="/main.js"></script></body></html>`;

type AppWindow = Window & { connect(url: string, transports: string[]): void; client: RealtimeClient };

/** Connects over `transports` only, sends one message, and returns the transport it opened on. */
async function connectAndSend(page: Page, server: ExamplesServer, transports: string[], text: string) {
  return page.evaluate(
    async ({ url, transports, text }) => {
      const w = window as unknown as AppWindow;
      w.client?.close();
      w.connect(url, transports);
      await w.client.waitFor('open', { timeoutMs: 15_000 });
      w.client.send('lab:message', { n: 1, text });
      await w.client.request('echo', 'barrier', { timeoutMs: 10_000 });
      return w.client.transport ?? 'none';
    },
    { url: `${server.url}/realtime`, transports, text },
  );
}

/** Opens the app, then connects over each transport in turn; the scripts it fetched, per transport. */
async function everyTransport(page: Page, server: ExamplesServer, appUrl: string, label: string) {
  const fetched: string[] = [];
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (pathname.endsWith('.js')) fetched.push(pathname);
  });
  const errors = collectPageErrors(page);
  await page.goto(appUrl);
  await page.waitForFunction(() => typeof (window as unknown as AppWindow).connect === 'function', null, WAIT);
  const scripts: Record<string, string[]> = {};
  const opened: string[] = [];
  for (const transport of ['websocket', 'sockjs', 'longpoll']) {
    fetched.length = 0;
    opened.push(await connectAndSend(page, server, [transport], `${label} over ${transport}`));
    scripts[transport] = fetched.filter((p) => p.includes('sockjs'));
  }
  const texts = ['websocket', 'sockjs', 'longpoll'].map((t) => `${label} over ${t}`);
  return { opened, scripts, delivered: await deliveries(server, texts), errors };
}

describe.skipIf(skipBrowserTests)("a Vite app importing 'surelink', in Chromium", () => {
  const chromium = useChromium();
  let dir = '';
  let vite: typeof Vite;
  const config = () => ({
    root: dir,
    configFile: false as const,
    logLevel: 'silent' as const,
    cacheDir: path.join(dir, 'node_modules', '.vite'),
    resolve: { preserveSymlinks: true },
  });

  beforeAll(async () => {
    vite = await import('vite');
    dir = await mkdtemp(path.join(os.tmpdir(), 'surelink-vite-app-'));
    await mkdir(path.join(dir, 'node_modules'));
    await symlink(root, path.join(dir, 'node_modules', 'surelink'), 'dir');
    await writeFile(path.join(dir, 'main.js'), MAIN);
    await writeFile(path.join(dir, 'index.html'), INDEX);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('dev server: pre-bundled, it connects over each transport; sockjs-client loads only for SockJS', async () => {
    const dev = await vite.createServer({ ...config(), server: { host: '127.0.0.1', port: 0, strictPort: false } });
    try {
      await dev.listen();
      const appUrl = dev.resolvedUrls?.local[0];
      expect(appUrl).toBeDefined();
      await withExamples(chromium(), async (server) => {
        const page = await chromium().context.newPage();
        const seen = await everyTransport(page, server, appUrl ?? '', 'vite dev');
        expect(seen.opened).toEqual(['websocket', 'sockjs', 'longpoll']);
        expect(seen.delivered).toEqual([1, 1, 1]);
        expect(seen.scripts.websocket, 'no sockjs-client on WebSocket').toEqual([]);
        expect(seen.scripts.sockjs, 'the pre-bundled sockjs-client chunk').toEqual([
          expect.stringMatching(/^\/node_modules\/\.vite\/deps\/sockjs\.min-[\w-]+\.js$/),
        ]);
        expect(seen.errors).toEqual([]);
      });
    } finally {
      await dev.close();
    }
  });

  it('production build: sockjs-client is a lazy chunk, and each transport connects', async () => {
    const outDir = path.join(dir, 'dist');
    await vite.build({ ...config(), build: { outDir, emptyOutDir: true } });
    const preview = await vite.preview({ ...config(), build: { outDir }, preview: { host: '127.0.0.1', port: 0 } });
    try {
      const appUrl = preview.resolvedUrls?.local[0];
      expect(appUrl).toBeDefined();
      await withExamples(chromium(), async (server) => {
        const page = await chromium().context.newPage();
        const seen = await everyTransport(page, server, appUrl ?? '', 'vite build');
        expect(seen.opened).toEqual(['websocket', 'sockjs', 'longpoll']);
        expect(seen.delivered).toEqual([1, 1, 1]);
        expect(seen.scripts.websocket, 'no sockjs-client on WebSocket').toEqual([]);
        expect(seen.scripts.sockjs, 'the sockjs-client chunk').toEqual([
          expect.stringMatching(/^\/assets\/sockjs\.min-[\w-]+\.js$/),
        ]);
        expect(seen.errors).toEqual([]);
      });
    } finally {
      await preview.close();
    }
  });
});
