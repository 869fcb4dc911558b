// The client in real Firefox (Debian's firefox-esr over WebDriver BiDi, test/helpers/firefox.ts)
// behind the two proxies users sit behind, with the scenarios and checks the Chromium tests run:
// - a real nginx (test/browser/nginx.test.ts's scenarios, test/helpers/nginx-page.ts): page, bundle
//   and /realtime served through it; with the recommended config the default order and each
//   transport open as asked, without Upgrade headers every fallback works, and each keeps one
//   session across an nginx restart with every message once and in order both ways;
// - a corporate HTTP proxy (test/browser/corporate-proxy.test.ts's scenarios,
//   test/helpers/proxy-page.ts) set in Firefox's prefs, loopback included: it refuses WebSocket and
//   buffers every response whole, so the client must fall back past both and deliver exactly once;
//   then it cuts held requests after 2 s, and the session must survive on SockJS and long polling;
//   last, a proxy that tunnels WebSocket and then resets or silences its tunnels.
// Firefox's networking is its own: how it sends a WebSocket through an HTTP proxy, how it
// buffers streaming responses. Needs `npm run build` first.
import { describe } from 'vitest';
import { launchFirefox, proxyPrefs, skipFirefoxTests, useFirefox } from '../helpers/firefox.js';
import { HttpProxy } from '../helpers/http-proxy.js';
import { describeNginxCases } from '../helpers/nginx-page.js';
import { skipNginxTests } from '../helpers/nginx.js';
import { puppeteerPage } from '../helpers/page-driver.js';
import { proxyCases, type BehindProxy } from '../helpers/proxy-page.js';

describe.skipIf(skipFirefoxTests || skipNginxTests)('Firefox behind nginx', () => {
  const firefox = useFirefox();
  describeNginxCases('Firefox', async () => puppeteerPage(await firefox().browser.newPage()));
});

describe.skipIf(skipFirefoxTests)('behind a corporate HTTP proxy in Firefox', () => {
  // Firefox takes its proxy from its prefs at launch: a Firefox of its own (fresh profile, no
  // remembered transport) for each test, behind a proxy of its own.
  const behindProxy: BehindProxy = async (options, body) => {
    const proxy = await HttpProxy.start(options);
    try {
      const firefox = await launchFirefox({ prefs: proxyPrefs(proxy.port) });
      try {
        await body(puppeteerPage(await firefox.browser.newPage()), proxy);
      } finally {
        await firefox.close();
      }
    } finally {
      await proxy.close();
    }
  };

  proxyCases('Firefox', behindProxy);
});
