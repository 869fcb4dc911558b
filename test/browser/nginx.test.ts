// Chromium behind a real nginx (test/helpers/nginx.ts), as most sites deploy the client: nginx
// serves the page (examples/index.html, which opens no client of its own) and the bundle
// (dist/surelink.full.min.js) from disk and proxies every other path, /realtime included, to a
// surelink server, so the page and its realtime endpoint share an origin. With the recommended
// config (Upgrade and Connection passed over HTTP/1.1), the default order and each transport forced
// open on it, carry numbered messages both ways and requests, and resume across an nginx restart
// (every connection cut) with each message delivered exactly once, on one session. With a plain
// `proxy_pass` (no Upgrade headers) the server answers the WebSocket handshake 426: the default
// order must end on a fallback that works, SockJS and long polling forced must work as they are,
// and WebSocket forced must fail at once rather than wait out its connect timeout. SockJS's
// streaming transports get through only because the server turns nginx's response buffering off
// for them (src/server/endpoints/sockjs.ts). Times are printed, not asserted
// (test/integration/nginx.test.ts asserts the Node client's). The scenarios are
// test/helpers/nginx-page.ts's, shared with Firefox (test/browser/firefox-proxies.test.ts).
import { describe } from 'vitest';
import { skipBrowserTests, useChromium } from '../helpers/browser.js';
import { describeNginxCases } from '../helpers/nginx-page.js';
import { skipNginxTests } from '../helpers/nginx.js';
import { playwrightPage } from '../helpers/page-driver.js';

describe.skipIf(skipBrowserTests || skipNginxTests)('Chromium behind nginx', () => {
  const chromium = useChromium();
  describeNginxCases('Chromium', async () => playwrightPage(await chromium().context.newPage()));
});
