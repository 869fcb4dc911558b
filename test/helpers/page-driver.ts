/**
 * One page of a real browser, whichever library drives it: playwright-core (Chromium) or
 * puppeteer-core (Firefox over WebDriver BiDi). Their `waitForFunction` take the argument and the
 * options in opposite orders; scenarios written against this run unchanged in both browsers.
 */
import type { Page as PlaywrightPage } from 'playwright-core';
import type { Page as PuppeteerPage } from 'puppeteer-core';

/** A bound on a wait, and how often to check (ms; default: every animation frame). */
export interface Wait {
  readonly timeout: number;
  readonly polling?: number;
}

export interface PageDriver {
  /** Runs `fn(arg)` in the page (serialized: `fn` must not close over anything). */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** Resolves once `fn(arg)` is truthy in the page; rejects after `wait.timeout`. */
  waitFor<A = undefined>(fn: (arg: A) => unknown, wait: Wait, arg?: A): Promise<void>;
  goto(url: string, wait: Wait): Promise<void>;
  /** Adds a `<script src=url>` and waits for it to run. */
  addScript(url: string): Promise<void>;
  /** The page's uncaught errors so far, as text. */
  readonly uncaught: readonly string[];
  close(): Promise<void>;
}

export function playwrightPage(page: PlaywrightPage): PageDriver {
  const uncaught: string[] = [];
  page.on('pageerror', (error) => uncaught.push(error.message));
  return {
    uncaught,
    // The argument goes through serialization either way: its static type is the interface's.
    evaluate: <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A) =>
      page.evaluate(fn as (a: unknown) => R | Promise<R>, arg as unknown),
    async waitFor(fn, wait, arg) {
      await page.waitForFunction(fn as (a: unknown) => unknown, arg as unknown, wait);
    },
    async goto(url, wait) {
      await page.goto(url, wait);
    },
    async addScript(url) {
      await page.addScriptTag({ url });
    },
    close: () => page.close(),
  };
}

/**
 * What Firefox reports of a WebSocket it could not open, or that the network cut (an nginx restart
 * resetting it: "interrupted while the page was loading" is Firefox's wording for a socket cut at
 * any time, Mozilla bug 712329);
 * the client handles both. Over WebDriver BiDi each comes as a script error log entry, which
 * puppeteer turns into a 'pageerror'. Chromium logs the same failures to the console, never as page errors.
 */
const FIREFOX_WEBSOCKET_FAILED =
  /^Firefox can’t establish a connection to the server at wss?:\/\/|^The connection to wss?:\/\/\S+ was interrupted while the page was loading\.$/;

export function puppeteerPage(page: PuppeteerPage): PageDriver {
  const uncaught: string[] = [];
  page.on('pageerror', (error) => {
    const message = error instanceof Error ? error.message : String(error);
    if (!FIREFOX_WEBSOCKET_FAILED.test(message)) uncaught.push(message);
  });
  return {
    uncaught,
    evaluate: async <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A) =>
      (await page.evaluate(fn as (a: unknown) => R | Promise<R>, arg as unknown)) as R,
    async waitFor(fn, wait, arg) {
      await page.waitForFunction(fn as (a: unknown) => unknown, wait, arg as unknown);
    },
    async goto(url, wait) {
      await page.goto(url, wait);
    },
    async addScript(url) {
      await page.addScriptTag({ url });
    },
    close: () => page.close(),
  };
}
