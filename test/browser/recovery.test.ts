// Recovery in real Chromium, through the example pages: falling back when WebSocket is refused,
// the offline queue across a real (emulated) network loss, and the persisted queue across a page
// reload. Deliveries are counted at the server (the lab's 'lab:message' log): each exactly once.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  deliveries,
  labControl,
  skipBrowserTests,
  useChromium,
  WAIT,
  withExamples,
  type Chromium,
  type ExamplesServer,
  type LabWindow,
} from '../helpers/browser.js';

async function openLab(browser: Chromium, server: ExamplesServer): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${server.url}/lab.html`);
  await waitUntilFlushed(page);
  return page;
}

/** Open, with nothing left in the queue. */
function waitUntilFlushed(page: Page): Promise<unknown> {
  return page.waitForFunction(
    () => {
      const client = (window as unknown as LabWindow).client;
      return client?.state === 'open' && client.queued === 0;
    },
    null,
    WAIT,
  );
}

/** Sends one 'lab:message' per text from the page; returns what each `send` returned. */
function send(page: Page, texts: readonly string[]): Promise<string[]> {
  return page.evaluate(
    (all) => all.map((text, i) => (window as unknown as LabWindow).client.send('lab:message', { n: i + 1, text })),
    texts,
  );
}

/**
 * A round trip after the messages: the server delivers in order, so once it answered, every
 * message sent before has been delivered (or never will be).
 */
function roundTrip(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as LabWindow).client.request('echo', 'barrier', { timeoutMs: 10_000 }));
}

const timeline = (page: Page): Promise<string> => page.locator('#timeline').innerText();

describe.skipIf(skipBrowserTests)('recovery in Chromium (transport lab and chat)', () => {
  const chromium = useChromium();

  it('WebSocket refused and every connection cut: the lab falls back, resumes its session and keeps working', async () => {
    await withExamples(chromium(), async (server) => {
      const page = await openLab(chromium(), server);
      expect(await page.evaluate(() => (window as unknown as LabWindow).client.transport)).toBe('websocket');

      await labControl(server, 'refuse-upgrades?on=1');
      await labControl(server, 'cut');
      await page.waitForFunction(
        () => {
          const client = (window as unknown as LabWindow).client;
          return client.state === 'open' && client.transport !== 'websocket';
        },
        null,
        WAIT,
      );
      expect(await page.evaluate(() => (window as unknown as LabWindow).client.transport)).toBe('sockjs');
      expect(await timeline(page)).toContain('session resumed');

      const texts = ['after the fallback 1', 'after the fallback 2'];
      expect(await send(page, texts)).toEqual(['sent', 'sent']);
      expect(await roundTrip(page)).toBe('barrier');
      expect(await deliveries(server, texts)).toEqual([1, 1]);
    });
  });

  it('a chat page opened while WebSocket is refused connects over long polling and chats', async () => {
    await withExamples(chromium(), async (server) => {
      await labControl(server, 'refuse-upgrades?on=1');
      const page = await chromium().context.newPage();
      await page.goto(`${server.url}/chat.html`);
      await page.waitForFunction(() => document.getElementById('state')?.textContent === 'open', null, WAIT);
      expect(await page.locator('#transport').textContent()).toBe('over longpoll');

      await page.fill('#text', 'over long polling');
      await page.press('#text', 'Enter');
      await page.locator('#messages li:has(.from)', { hasText: 'over long polling' }).waitFor(WAIT);
    });
  });

  it('the lab forces each transport in turn; each connects and delivers', async () => {
    await withExamples(chromium(), async (server) => {
      const page = await openLab(chromium(), server);
      for (const transport of ['longpoll', 'sockjs', 'websocket'] as const) {
        await page.selectOption('#mode', transport);
        await waitUntilFlushed(page);
        expect(await page.evaluate(() => (window as unknown as LabWindow).client.transport)).toBe(transport);
        expect(new URL(page.url()).searchParams.get('transport')).toBe(transport);
        const texts = [`forced ${transport}`];
        expect(await send(page, texts)).toEqual(['sent']);
        expect(await roundTrip(page)).toBe('barrier');
        expect(await deliveries(server, texts)).toEqual([1]);
      }
    });
  });

  it('offline (emulated network loss): sends are queued, then each delivered exactly once when back online', async () => {
    await withExamples(chromium(), async (server) => {
      const page = await openLab(chromium(), server);
      const texts = ['offline 1', 'offline 2', 'offline 3'];
      try {
        await chromium().context.setOffline(true);
        await page.waitForFunction(() => (window as unknown as LabWindow).client.state !== 'open', null, WAIT);
        expect(await send(page, texts)).toEqual(['queued', 'queued', 'queued']);
        expect(await page.evaluate(() => (window as unknown as LabWindow).client.queued)).toBe(3);
        expect(await deliveries(server, texts)).toEqual([0, 0, 0]);
      } finally {
        await chromium().context.setOffline(false);
      }
      await waitUntilFlushed(page);
      expect(await roundTrip(page)).toBe('barrier');
      expect(await deliveries(server, texts)).toEqual([1, 1, 1]);
    });
  });

  it('messages queued and persisted in sessionStorage before a reload are delivered exactly once after it', async () => {
    await withExamples(chromium(), async (server) => {
      const page = await openLab(chromium(), server);
      await page.check('#offline'); // the lab's simulated offline: the client lets go of its link
      await page.waitForFunction(() => (window as unknown as LabWindow).client.state === 'reconnecting', null, WAIT);
      const texts = ['before reload 1', 'before reload 2'];
      expect(await send(page, texts)).toEqual(['queued', 'queued']);
      expect(await page.evaluate(() => sessionStorage.getItem('surelink:lab:auto'))).toContain('before reload 2');
      expect(await deliveries(server, texts)).toEqual([0, 0]);

      await page.reload();
      await waitUntilFlushed(page);
      expect(await timeline(page)).toContain('session resumed');
      expect(await roundTrip(page)).toBe('barrier');
      expect(await deliveries(server, texts)).toEqual([1, 1]);
    });
  });
});
