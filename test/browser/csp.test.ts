// The script-tag bundle under a strict Content-Security-Policy in real Chromium: no eval, no
// inline script, connections only to this origin. It connects over WebSocket and long polling,
// exchanges messages, and the page records no CSP violation and no console error.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRealtimeServer } from '../../src/server/index.js';
import { collectPageErrors, skipBrowserTests, useChromium, WAIT } from '../helpers/browser.js';

const CSP = "default-src 'self'; script-src 'self'; connect-src 'self' ws://127.0.0.1:*";

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>surelink under CSP</title>
<script src="/dist/surelink.min.js"></script>
<script src="/app.js"></script>
</head><body><p id="out">waiting</p></body></html>`;

// The page's own script (inline script is forbidden): records violations, then runs one client
// per transport through open, an event round trip and a request.
const APP = `
window.violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
async function run(transport) {
  const client = new Surelink.RealtimeClient('ws://' + location.host + '/realtime', {
    transports: [transport], rememberTransport: false, upgrade: false,
  });
  try {
    const opened = await client.waitFor('open', { timeoutMs: 10000 });
    const echo = client.waitFor('chat', { timeoutMs: 10000 });
    client.send('chat', { text: 'hello ' + transport });
    const reply = await echo;
    const sum = await client.request('add', [1, 2, 3]);
    return { transport: opened.transport, text: reply.text, sum };
  } finally {
    client.close();
  }
}
window.result = (async () => {
  const results = [];
  for (const transport of ['websocket', 'longpoll']) results.push(await run(transport));
  document.getElementById('out').textContent = 'done';
  return results;
})().catch((e) => ({ error: String(e) }));
`;

/** The control: a script of this origin (allowed) that calls eval (refused by the policy). */
const EVAL_PROBE = `try { window.evalResult = eval('1 + 1'); } catch (e) { window.evalResult = e.name; }`;

interface Served {
  readonly url: string;
  close(): Promise<void>;
}

async function serve(): Promise<Served> {
  const bundle = await readFile(new URL('../../dist/surelink.min.js', import.meta.url), 'utf8');
  const http: Server = createServer((req, res) => {
    const send = (type: string, body: string) =>
      res
        .writeHead(200, { 'Content-Type': type, 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store' })
        .end(body);
    if (req.url === '/') send('text/html; charset=utf-8', PAGE);
    else if (req.url === '/app.js') send('text/javascript; charset=utf-8', APP);
    else if (req.url === '/dist/surelink.min.js') send('text/javascript; charset=utf-8', bundle);
    else if (req.url === '/eval-probe.js') send('text/javascript; charset=utf-8', EVAL_PROBE);
    else if (req.url === '/favicon.ico')
      res.writeHead(204).end(); // else a 404 in the console
    else res.writeHead(404).end();
  });
  const rt = createRealtimeServer<{ chat: { text: string } }, { chat: { text: string } }>({ server: http });
  rt.on('connection', (session) =>
    session.on('chat', ({ text }) => session.send('chat', { text: text.toUpperCase() })),
  );
  rt.handle('add', (data) => (data as number[]).reduce((a, b) => a + b, 0));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    async close() {
      await rt.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

type CspWindow = Window & { violations: string[]; result: Promise<unknown>; evalResult?: unknown; inlineRan?: boolean };

describe.skipIf(skipBrowserTests)('script-tag bundle under a strict Content-Security-Policy', () => {
  const chromium = useChromium();

  it('connects over WebSocket and long polling and exchanges messages with zero CSP violations', async () => {
    const server = await serve();
    const page = await chromium().context.newPage();
    try {
      const errors = collectPageErrors(page);
      const response = await page.goto(`${server.url}/`);
      expect(response?.headers()['content-security-policy']).toBe(CSP);
      await page.waitForFunction(() => document.getElementById('out')?.textContent === 'done', null, WAIT);
      expect(await page.evaluate(() => (window as unknown as CspWindow).result)).toEqual([
        { transport: 'websocket', text: 'HELLO WEBSOCKET', sum: 6 },
        { transport: 'longpoll', text: 'HELLO LONGPOLL', sum: 6 },
      ]);
      expect(await page.evaluate(() => (window as unknown as CspWindow).violations)).toEqual([]);
      expect(errors).toEqual([]);

      // Control: the policy is enforced, and a violation would have been seen: eval in a script
      // of this origin, and an inline script, are both refused and reported.
      await page.evaluate(() => {
        const probe = document.createElement('script');
        probe.src = '/eval-probe.js';
        document.body.append(probe);
        const inline = document.createElement('script');
        inline.textContent = 'window.inlineRan = true';
        document.body.append(inline);
      });
      await page.waitForFunction(() => (window as unknown as CspWindow).evalResult !== undefined, null, WAIT);
      await page.waitForFunction(() => (window as unknown as CspWindow).violations.length >= 2, null, WAIT);
      expect(await page.evaluate(() => (window as unknown as CspWindow).evalResult)).toBe('EvalError');
      expect(await page.evaluate(() => (window as unknown as CspWindow).inlineRan)).toBeUndefined();
      const violations = await page.evaluate(() => (window as unknown as CspWindow).violations);
      expect(violations.some((v) => v.includes('eval'))).toBe(true);
      expect(violations.some((v) => v.includes('inline'))).toBe(true);
    } finally {
      await page.close();
      await server.close();
    }
  });
});
