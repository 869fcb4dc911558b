/**
 * End-to-end helpers: Debian's Chromium driven by playwright-core, and the examples server of
 * `npm start` (scripts/examples-server.mjs, which runs from dist/: build first) on port 0.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { RealtimeClient } from '../../src/index.js';
import { CHROMIUM_ARGS } from '../../scripts/chromium.mjs';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where screenshots go: test artefacts, git-ignored. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

/**
 * True when the browser tests skip: Chromium is missing and this is not CI. Says why, loudly. In
 * CI (`CI` set) they never skip: without Chromium they fail in `launchChromium`.
 */
export const skipBrowserTests: boolean = (() => {
  if (existsSync(CHROMIUM_PATH) || process.env.CI) return false;
  console.warn(
    `\n!!! Browser tests SKIPPED: no Chromium at ${CHROMIUM_PATH}. ` +
      `Install Debian's package (apt-get install chromium) to run them; in CI they run and fail without it.\n`,
  );
  return true;
})();

export interface Chromium {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/** How to launch Chromium beyond the defaults. */
export interface ChromiumOptions {
  /** Keep the back/forward cache on: Playwright turns it off by default (`--disable-back-forward-cache`). */
  readonly backForwardCache?: boolean;
}

/** Starts Chromium with a fresh profile in a temporary directory (removed by `close`). */
export async function launchChromium(options: ChromiumOptions = {}): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium)`,
    );
  }
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'surelink-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
      headless: true,
      timeout: 30_000,
      viewport: { width: 1280, height: 800 },
      ...(options.backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          await rm(userDataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * One Chromium for the calling test file (call it inside `describe`): launched before its tests,
 * closed after them. When the launch fails, every test fails with that error, rather than being
 * reported as skipped as a failed `beforeAll` would leave them.
 * @returns the browser, for use inside tests
 */
export function useChromium(options?: ChromiumOptions): () => Chromium {
  return useBrowser(() => launchChromium(options));
}

/** {@link useChromium} for {@link launchLifecycleChromium}, whose tabs go hidden and frozen for real. */
export function useLifecycleChromium(): () => Chromium {
  return useBrowser(launchLifecycleChromium);
}

/**
 * One browser for the calling test file, launched by `launch` (Chromium here, Firefox in
 * firefox.ts): when the launch fails, every test fails with that error rather than being skipped.
 */
export function useBrowser<B extends { close(): Promise<void> }>(launch: () => Promise<B>, name = 'Chromium'): () => B {
  let browser: B | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      browser = await launch();
    } catch (error) {
      failure = error;
    }
  });
  beforeEach(() => {
    if (failure !== undefined) throw failure;
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error(`${name} is not running`);
    return browser;
  };
}

export interface ExamplesServer {
  /** http://127.0.0.1:port */
  readonly url: string;
  close(): Promise<void>;
}

// Plain JS that loads dist/server.js, so it is imported at run time through a variable.
const EXAMPLES_SERVER = new URL('../../scripts/examples-server.mjs', import.meta.url).href;

export async function startExamples(): Promise<ExamplesServer> {
  const { startExamplesServer } = (await import(EXAMPLES_SERVER)) as {
    startExamplesServer(options: { port: number; host: string }): Promise<ExamplesServer>;
  };
  return startExamplesServer({ port: 0, host: '127.0.0.1' });
}

/**
 * Runs `body` against a fresh examples server; afterwards closes every page it opened, then stops
 * the server.
 */
export async function withExamples(browser: Chromium, body: (server: ExamplesServer) => Promise<void>): Promise<void> {
  const server = await startExamples();
  const pagesBefore = new Set(browser.context.pages());
  try {
    await body(server);
  } finally {
    await Promise.all(browser.context.pages().map((page) => (pagesBefore.has(page) ? undefined : page.close())));
    await server.close();
  }
}

/** One message the examples server delivered from a 'lab:message' event. */
export interface LabMessage {
  readonly session: string;
  readonly n: number;
  readonly text: string;
}

/** The lab's server controls (scripts/examples-lab.mjs). */
export async function labControl(
  server: ExamplesServer,
  route: 'cut' | 'refuse-upgrades?on=1' | 'refuse-upgrades?on=0',
): Promise<unknown> {
  const res = await fetch(`${server.url}/lab/${route}`, { method: 'POST' });
  if (!res.ok) throw new Error(`POST /lab/${route}: HTTP ${res.status}`);
  return (await res.json()) as unknown;
}

/** How many times the server delivered each of `texts` (from the lab's 'lab:message' log). */
export async function deliveries(server: ExamplesServer, texts: readonly string[]): Promise<number[]> {
  const res = await fetch(`${server.url}/lab/received`);
  const { messages } = (await res.json()) as { messages: LabMessage[] };
  return texts.map((text) => messages.filter((m) => m.text === text).length);
}

/** Every console error and uncaught page error, as text; check it is empty at the end. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The lab page's `window.client`, for `page.evaluate` callbacks. */
export type LabWindow = Window & { client: RealtimeClient };

/** A bound for every wait: generous, because the machine may be busy. */
export const WAIT = { timeout: 20_000 } as const;

/**
 * Chromium whose pages go hidden, visible and frozen as a user's tabs do: launched on its own and
 * driven over CDP with Playwright's `noDefaults`, because a page Playwright launches or creates gets
 * focus emulation, which keeps it visible in every case (a second tab in front, a minimised window,
 * `Page.setWebLifecycleState`). The pages of its `context` are tabs of one window: the one in front
 * (`page.bringToFront()`, or the newest) is visible, the others hidden, with Chromium's throttling
 * of hidden pages (none of Playwright's `--disable-renderer-backgrounding` and the like).
 */
export async function launchLifecycleChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium)`,
    );
  }
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'surelink-chromium-'));
  const args = [...CHROMIUM_ARGS, '--remote-debugging-port=0', `--user-data-dir=${userDataDir}`, 'about:blank'];
  const child = spawn(CHROMIUM_PATH, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    // Its helper processes may still be writing there for a moment after it exited.
    await rm(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    // Chromium writes the port it picked and the browser's CDP path there once it listens.
    const portFile = path.join(userDataDir, 'DevToolsActivePort');
    const deadline = Date.now() + 30_000;
    let lines: string[] = [];
    while (lines.length < 2 || !lines[1]) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('Chromium did not open its CDP port');
      await new Promise((resolve) => setTimeout(resolve, 100));
      lines = existsSync(portFile) ? (await readFile(portFile, 'utf8')).split('\n') : [];
    }
    const browser = await chromium.connectOverCDP(`ws://127.0.0.1:${lines[0]}${lines[1]}`, {
      noDefaults: true,
      isLocal: true,
      timeout: 30_000,
    });
    const context = browser.contexts()[0];
    if (!context) throw new Error('Chromium has no default context');
    return {
      context,
      async close() {
        try {
          await (await browser.newBrowserCDPSession()).send('Browser.close').catch(() => undefined);
          await browser.close();
        } finally {
          await stop();
        }
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A session record as `indexedDBStore()` keeps it: the parts the browser tests read. */
export interface StoredSession {
  readonly delivered: number;
  readonly outbound: { readonly entries: readonly { readonly data?: unknown }[] };
}

/** What the page's IndexedDB holds under `key` (`indexedDBStore()`'s database and object store), or null. */
export function storedSession(page: Page, key: string): Promise<StoredSession | null> {
  return page.evaluate(
    (k) =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('surelink', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('sessions');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          const get = db.transaction('sessions').objectStore('sessions').get(k);
          get.onsuccess = () => resolve(get.result ?? null);
          get.onerror = () => reject(get.error);
          db.close();
        };
      }),
    key,
  );
}
