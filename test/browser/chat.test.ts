// The chat example in real Chromium: what one tab types, the other shows, as text only.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  skipBrowserTests,
  useChromium,
  WAIT,
  withExamples,
  type Chromium,
  type ExamplesServer,
} from '../helpers/browser.js';

/** Markup that would run script, add elements or change the page if it were parsed as HTML. */
const HOSTILE = `<img src="x" onerror="window.injected = true"><b id="bold">bold</b> & <script>window.injected = true</script>`;

type ProbeWindow = Window & { injected?: boolean };

/** Opens the chat; `errors` collects the page's console errors from the start. */
async function openChat(browser: Chromium, server: ExamplesServer): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${server.url}/chat.html`);
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'open', null, WAIT);
  return { page, errors };
}

/** Texts of the chat lines sent by someone (notes such as "connected over …" excluded). */
function chatLines(page: Page): Promise<string[]> {
  return page
    .locator('#messages li:has(.from)')
    .evaluateAll((items) => items.map((li) => li.lastChild?.textContent ?? ''));
}

describe.skipIf(skipBrowserTests)('chat example in Chromium', () => {
  const chromium = useChromium();

  it('two tabs talk, and HTML in a message is shown as text, never parsed', async () => {
    await withExamples(chromium(), async (server) => {
      const { page: alice, errors: aliceErrors } = await openChat(chromium(), server);
      const { page: bob, errors: bobErrors } = await openChat(chromium(), server);
      await alice.fill('#text', 'hello bob');
      await alice.press('#text', 'Enter');
      await bob.locator('#messages li', { hasText: 'hello bob' }).waitFor(WAIT);

      await alice.fill('#text', HOSTILE);
      await alice.press('#text', 'Enter');
      for (const page of [alice, bob]) {
        await page.locator('#messages li', { hasText: '<b id="bold">' }).waitFor(WAIT);
        expect(await chatLines(page)).toEqual(['hello bob', HOSTILE]);
        expect(await page.locator('#messages img, #messages b, #messages script, #bold').count()).toBe(0);
        expect(await page.evaluate(() => (window as ProbeWindow).injected)).toBeUndefined();
      }
      expect([...aliceErrors, ...bobErrors]).toEqual([]);
    });
  });
});
