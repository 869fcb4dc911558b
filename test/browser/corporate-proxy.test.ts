// The client in real Chromium behind a corporate HTTP proxy (test/helpers/http-proxy.ts). Every
// request of the page goes through it: Chromium bypasses proxies for loopback unless told
// `<-loopback>`, and the proxy's counts show the page, the bundle and the realtime traffic came
// through. CONNECT is refused, so WebSocket (which Chromium tunnels through CONNECT) cannot get
// through; each response is buffered whole, so SockJS's streaming transports never see a frame.
// With the default transports the client must end on a transport that works and deliver numbered
// messages and requests exactly once both ways (counted at the server and in the page). Then the
// proxy also answers 504 to every request still waiting for its answer after 2 s: shorter than
// the server's hold of a poll (the examples server cannot be configured: long polling holds 25 s,
// SockJS's polling up to its 25 s heartbeat), so every idle poll is cut. The session must survive
// the cuts, on SockJS (the full bundle) and on long polling (the script-tag bundle without
// SockJS), without loss, duplicates or a heartbeat close. Last, the remedy README gives: a server
// whose `longPoll.pollTimeoutMs` is shorter than the proxy's timeout. And a proxy that does tunnel
// WebSocket through CONNECT, then resets its tunnels and later silences them (half-open): the
// session must stay on WebSocket, resumed, with every message once. Times, reconnects and 504s
// are printed, not asserted. The scenarios are test/helpers/proxy-page.ts's, shared with Firefox
// (test/browser/firefox-proxies.test.ts).
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe } from 'vitest';
import { CHROMIUM_ARGS } from '../../scripts/chromium.mjs';
import { CHROMIUM_PATH, skipBrowserTests } from '../helpers/browser.js';
import { HttpProxy } from '../helpers/http-proxy.js';
import { playwrightPage } from '../helpers/page-driver.js';
import { proxyCases, type BehindProxy } from '../helpers/proxy-page.js';

describe.skipIf(skipBrowserTests)('behind a corporate HTTP proxy in Chromium', () => {
  // Not useChromium's persistent context: each test needs a fresh context (no remembered
  // transport) behind a proxy of its own.
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** A page of a fresh context whose traffic all goes through a new proxy with `options`; closes both after. */
  const behindProxy: BehindProxy = async (options, body) => {
    if (!browser) throw new Error('Chromium is not running');
    const proxy = await HttpProxy.start(options);
    try {
      const context = await browser.newContext({ proxy: proxy.playwright });
      try {
        await body(playwrightPage(await context.newPage()), proxy);
      } finally {
        await context.close();
      }
    } finally {
      await proxy.close();
    }
  };

  proxyCases('Chromium', behindProxy);
});
