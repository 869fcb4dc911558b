#!/usr/bin/env node
/* global document */
// `npm run screenshot:lab`: regenerates docs/screenshot-lab.png, the README's picture of the
// transport lab, by playing its scenario in headless Chromium (/usr/bin/chromium, or CHROMIUM):
// the page connects over WebSocket, goes offline, queues two messages, the server starts refusing
// WebSocket upgrades and cuts every connection, the page comes back online, falls back to SockJS,
// resumes its session and the server confirms each message once. Needs `npm run build` first
// (the npm script does it). Everything runs on 127.0.0.1 and is stopped at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './chromium.mjs';
import { startExamplesServer } from './examples-server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = path.join(root, 'docs', 'screenshot-lab.png');
const WAIT = { timeout: 20_000 };

const server = await startExamplesServer({ port: 0, host: '127.0.0.1' });
const profile = mkdtempSync(path.join(tmpdir(), 'surelink-shot-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [...CHROMIUM_ARGS],
  viewport: { width: 1000, height: 940 },
});
try {
  const page = await context.newPage();
  await page.goto(`${server.url}/lab.html`);
  const text = (id) => page.locator(`#${id}`).textContent();
  const until = (id, value) =>
    page.waitForFunction(([i, v]) => document.getElementById(i)?.textContent === v, [id, value], WAIT);

  await until('transport', 'websocket');
  await until('state', 'open');
  await page.locator('#offline').check();
  await until('state', 'reconnecting');
  for (const message of ['queued while offline', 'sent while offline']) {
    await page.locator('#text').fill(message);
    await page.locator('#send-form button[type=submit]').click();
  }
  await page.locator('#refuse').check();
  await page.waitForFunction(() => document.getElementById('timeline')?.textContent?.includes('refus'), null, WAIT);
  await page.locator('#cut').click();
  await page.locator('#offline').uncheck();
  await until('transport', 'sockjs');
  await until('state', 'open');
  await page.waitForFunction(
    () => /^(\d+) \/ \1$/.test(document.getElementById('counts')?.textContent ?? ''),
    null,
    WAIT,
  );
  await page.waitForFunction(() => document.getElementById('rtt')?.textContent !== '–', null, WAIT);
  await page.screenshot({ path: out });
  console.log(
    `wrote ${path.relative(root, out)}: transport ${await text('transport')}, sent/confirmed ${await text('counts')}`,
  );
} finally {
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
