// The ESM build as an app's bundler sees it, in real Chromium: esbuild (what Vite runs in
// development) bundles a page that imports 'surelink' for the browser, code splitting on, as a
// frontend framework's build does. The bundle is served on the examples server's origin, so the
// client talks to the reference server at /realtime.
//
// sockjs-client's CommonJS entry reads Node's `global`, which esbuild and Vite leave undefined in
// the browser: a client that imported 'sockjs-client' could never fall back to SockJS there
// ("global is not defined"). package.json's `imports` gives bundlers its browser script instead.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/index.js';
import {
  collectPageErrors,
  deliveries,
  skipBrowserTests,
  useChromium,
  WAIT,
  withExamples,
  type Chromium,
  type ExamplesServer,
} from '../helpers/browser.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The app: what a framework's entry does with surelink, minus the framework. */
const APP = `
  import { RealtimeClient } from 'surelink';
  window.connect = (transports) => {
    const url = new URL('/realtime', location.href);
    window.client = new RealtimeClient(url.href, { transports, rememberTransport: false });
  };
`;

/** Bundles APP as an app would (the package resolved by its own name, as installed); file name → text. */
async function bundleApp(): Promise<Map<string, string>> {
  const { build } = await import('esbuild');
  const out = await build({
    stdin: { contents: APP, resolveDir: root, loader: 'js', sourcefile: 'app.js' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    outdir: path.join(root, 'bundled'),
    entryNames: 'app',
    write: false,
    logLevel: 'silent',
  });
  return new Map(out.outputFiles.map((file) => [path.basename(file.path), file.text]));
}

type AppWindow = Window & { connect(transports: string[]): void; client: RealtimeClient };

/**
 * Opens the bundled app in a page of the examples server: the page itself comes from the server
 * (a document Playwright made up has no address, and Chromium's local-network checks then block
 * its WebSocket to 127.0.0.1), the bundle's files from memory. Records the paths the page fetches.
 */
async function openApp(browser: Chromium, server: ExamplesServer, files: Map<string, string>) {
  const page = await browser.context.newPage();
  const requested: string[] = [];
  page.on('request', (request) => requested.push(new URL(request.url()).pathname));
  await page.route(`${server.url}/bundled/*.js`, (route) => {
    const body = files.get(path.basename(new URL(route.request().url()).pathname));
    return body === undefined
      ? route.fulfill({ status: 404 })
      : route.fulfill({ contentType: 'text/javascript', body });
  });
  const errors = collectPageErrors(page);
  await page.goto(`${server.url}/index.html`);
  await page.addScriptTag({ url: '/bundled/app.js', type: 'module' });
  await page.waitForFunction(() => typeof (window as unknown as AppWindow).connect === 'function', null, WAIT);
  return { page, requested, errors };
}

/** Connects over `transports`, sends one message, and returns the transport it opened on. */
async function connectAndSend(page: Page, transports: string[], text: string): Promise<string> {
  return page.evaluate(
    async ({ transports, text }) => {
      const w = window as unknown as AppWindow;
      w.connect(transports);
      await w.client.waitFor('open', { timeoutMs: 15_000 });
      w.client.send('lab:message', { n: 1, text });
      await w.client.request('echo', 'barrier', { timeoutMs: 10_000 });
      return w.client.transport ?? 'none';
    },
    { transports, text },
  );
}

/** The names of the chunks holding sockjs-client (esbuild names chunks by hash, and marks each module's path). */
const sockjsChunks = (files: Map<string, string>): string[] =>
  [...files.entries()].filter(([, text]) => text.includes('node_modules/sockjs-client/')).map(([name]) => name);

describe.skipIf(skipBrowserTests)('the ESM build bundled by esbuild, in Chromium', () => {
  const chromium = useChromium();
  let files: Map<string, string> | undefined;
  const bundled = async (): Promise<Map<string, string>> => (files ??= await bundleApp());

  it('sockjs-client is a chunk of its own, its browser script (which defines no global)', async () => {
    const files = await bundled();
    const sockjs = sockjsChunks(files);
    expect(sockjs, 'one lazily loaded chunk holds sockjs-client').toHaveLength(1);
    expect(sockjs).not.toContain('app.js');
    // The browser script is browserify's bundle, which resolves `global` itself; the CommonJS entry does not.
    const chunk = files.get(sockjs[0] ?? '');
    expect(chunk).toContain('node_modules/sockjs-client/dist/sockjs.min.js');
    expect(chunk).not.toContain('node_modules/sockjs-client/lib/');
  });

  it('falls back to SockJS: sockjs-client loads from its chunk and the message arrives once', async () => {
    const files = await bundled();
    await withExamples(chromium(), async (server) => {
      const { page, requested, errors } = await openApp(chromium(), server, files);
      expect(await connectAndSend(page, ['sockjs'], 'bundled over sockjs')).toBe('sockjs');
      expect(await deliveries(server, ['bundled over sockjs'])).toEqual([1]);
      expect(requested).toEqual(expect.arrayContaining(sockjsChunks(files).map((name) => `/bundled/${name}`)));
      expect(errors).toEqual([]);
    });
  });

  it('a client on WebSocket never downloads the sockjs-client chunk', async () => {
    const files = await bundled();
    await withExamples(chromium(), async (server) => {
      const { page, requested, errors } = await openApp(chromium(), server, files);
      expect(await connectAndSend(page, ['websocket', 'sockjs', 'longpoll'], 'bundled over websocket')).toBe(
        'websocket',
      );
      expect(await deliveries(server, ['bundled over websocket'])).toEqual([1]);
      const chunks = requested.filter((p) => p.startsWith('/bundled/') && p.endsWith('.js'));
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.filter((p) => sockjsChunks(files).includes(path.basename(p)))).toEqual([]);
      expect(errors).toEqual([]);
    });
  });
});
