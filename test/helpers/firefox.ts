/**
 * Firefox end-to-end helpers: Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi
 * (Playwright drives only its own patched Firefox builds, which this machine cannot download). The
 * examples server and its lab controls are test/helpers/browser.ts's.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startExamples, useBrowser, type ExamplesServer } from './browser.js';

export const FIREFOX_PATH = '/usr/bin/firefox-esr';

/**
 * True when the Firefox tests skip: Firefox is missing and this is not CI. Says why, loudly. In CI
 * (`CI` set) they never skip: without Firefox they fail in `launchFirefox`.
 */
export const skipFirefoxTests: boolean = (() => {
  if (existsSync(FIREFOX_PATH) || process.env.CI) return false;
  console.warn(
    `\n!!! Firefox tests SKIPPED: no Firefox at ${FIREFOX_PATH}. ` +
      `Install Debian's package (apt-get install firefox-esr) to run them; in CI they run and fail without it.\n`,
  );
  return true;
})();

export interface Firefox {
  readonly browser: Browser;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/** How to launch Firefox beyond the defaults. */
export interface FirefoxOptions {
  /** Preferences of the new profile (about:config), on top of puppeteer's. */
  readonly prefs?: Readonly<Record<string, string | number | boolean>>;
}

/** Firefox prefs that send every request through the HTTP proxy on 127.0.0.1:`port`, loopback included. */
export function proxyPrefs(port: number): Record<string, string | number | boolean> {
  return {
    'network.proxy.type': 1, // manual
    'network.proxy.http': '127.0.0.1',
    'network.proxy.http_port': port,
    'network.proxy.ssl': '127.0.0.1',
    'network.proxy.ssl_port': port,
    // Firefox never proxies localhost and 127.0.0.1 unless told to.
    'network.proxy.allow_hijacking_localhost': true,
    'network.proxy.no_proxies_on': '',
  };
}

/** Starts headless Firefox with a fresh profile in a temporary directory (removed by `close`). */
export async function launchFirefox(options: FirefoxOptions = {}): Promise<Firefox> {
  if (!existsSync(FIREFOX_PATH)) {
    throw new Error(`Firefox not found at ${FIREFOX_PATH}: install Debian's firefox-esr package`);
  }
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'surelink-firefox-'));
  const removeProfile = () => rm(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  try {
    // puppeteer-core never downloads a browser: it runs the executable it is given.
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      headless: true,
      userDataDir,
      timeout: 30_000,
      defaultViewport: { width: 1280, height: 800 },
      ...(options.prefs ? { extraPrefsFirefox: { ...options.prefs } } : {}),
    });
    return {
      browser,
      async close() {
        try {
          await browser.close();
        } finally {
          await removeProfile();
        }
      },
    };
  } catch (error) {
    await removeProfile();
    throw error;
  }
}

/**
 * One Firefox for the calling test file (call it inside `describe`), as `useChromium` does: when the
 * launch fails, every test fails with that error rather than being reported as skipped.
 */
export function useFirefox(): () => Firefox {
  return useBrowser(() => launchFirefox(), 'Firefox');
}

/** Runs `body` against a fresh examples server; afterwards closes every page it opened, then stops the server. */
export async function withFirefoxExamples(
  firefox: Firefox,
  body: (server: ExamplesServer) => Promise<void>,
): Promise<void> {
  const server = await startExamples();
  const pagesBefore = new Set(await firefox.browser.pages());
  try {
    await body(server);
  } finally {
    const pages = await firefox.browser.pages();
    await Promise.all(pages.map((page) => (pagesBefore.has(page) ? undefined : page.close())));
    await server.close();
  }
}

/** Every console error and uncaught page error, as text; check it is empty at the end. */
export function collectFirefoxErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error instanceof Error ? error.message : String(error)}`));
  return errors;
}
