// A reload under steady traffic, in real Chromium: server messages the page's app got before the
// reload are not delivered again to the reloaded page's app, which resumes the stored session.
// Deliveries are acknowledged (and stored with the ack) every 64 messages or 50 ms; the page stores
// them on `pagehide` too, else the next page would resume from the last ack and get the rest again.
// The page goes before its 50 ms ack timer fires: its client's clock (an option) starts no timer
// once the burst begins, so how long Playwright takes to reload does not decide the outcome.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient, webStorageStore } from '../../src/index.js';
import { collectPageErrors, skipBrowserTests, useChromium, WAIT, withExamples } from '../helpers/browser.js';

const KEY = 'surelink:reload';
/** Server messages before the reload: fewer than the 64 that make an ack go out at once. */
const N = 20;

interface ReloadWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient; webStorageStore: typeof webStorageStore };
  client: RealtimeClient;
  /** `resumed` of every `open`. */
  opens: boolean[];
  /** `n` of every 'lab:received' this document's app got, in order. */
  got: number[];
  /** From now on the client's clock starts no timer (no ack goes out for the time). */
  hold(): void;
}

/** A client on `localStorage` in `page`, recording its opens and deliveries, open. */
async function startClient(page: Page): Promise<void> {
  await page.addScriptTag({ url: '/dist/surelink.min.js' });
  await page.evaluate((key) => {
    const w = window as unknown as ReloadWindow;
    w.opens = [];
    w.got = [];
    let held = false;
    w.hold = () => void (held = true);
    w.client = new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href, {
      queue: { storage: w.Surelink.webStorageStore(localStorage), storageKey: key },
      clock: {
        now: () => Date.now(),
        setTimeout: (fn, ms) => (held ? undefined : setTimeout(fn, ms)),
        clearTimeout: (handle) => clearTimeout(handle as number | undefined),
      },
    });
    w.client.on('open', ({ resumed }) => w.opens.push(resumed));
    w.client.on('lab:received', (data) => w.got.push((data as { n: number }).n));
  }, KEY);
  await page.waitForFunction(() => (window as unknown as ReloadWindow).client.state === 'open', null, WAIT);
}

describe.skipIf(skipBrowserTests)('a page reloaded right after server messages in Chromium', () => {
  const chromium = useChromium();

  it('resumes its session and its app gets none of the messages the page before it got', async () => {
    await withExamples(chromium(), async (server) => {
      const page = await chromium().context.newPage();
      const errors = collectPageErrors(page);
      await page.goto(`${server.url}/index.html`);
      await startClient(page);
      // The stored session has its resume token, and the ack of the echo's response went out (no ack
      // timer runs) before the burst.
      await page.evaluate(() =>
        (window as unknown as ReloadWindow).client.request('echo', 'stored', { timeoutMs: 10_000 }),
      );
      await page.waitForFunction(
        (key) => (JSON.parse(localStorage.getItem(key) ?? '{}') as { delivered?: number }).delivered === 1,
        KEY,
        WAIT,
      );
      // N 'lab:message's, each confirmed by the server with a 'lab:received' { n }: a burst of N
      // server messages, and the page goes before an ack is due.
      const got = await page.evaluate(
        (count) =>
          new Promise<number[]>((resolve) => {
            const w = window as unknown as ReloadWindow;
            w.client.on('lab:received', () => void (w.got.length === count && resolve(w.got)));
            w.hold();
            for (let n = 1; n <= count; n++) w.client.send('lab:message', { n, text: `reload ${n}` });
          }),
        N,
      );
      expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      await page.reload(WAIT);

      await startClient(page);
      // A request's response comes after everything the server re-sends on resume: by then the app
      // got all it will get again.
      await page.evaluate(() =>
        (window as unknown as ReloadWindow).client.request('echo', 'barrier', { timeoutMs: 10_000 }),
      );
      expect(await page.evaluate(() => (window as unknown as ReloadWindow).opens)).toEqual([true]);
      expect(await page.evaluate(() => (window as unknown as ReloadWindow).got)).toEqual([]);
      expect(errors).toEqual([]);
    });
  });
});
