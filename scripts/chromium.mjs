// The Chromium flags every tool here launches Debian's /usr/bin/chromium with: headless, no sandbox
// (containers), and nothing that talks to Google or the network on its own. Shared by the browser
// tests (test/helpers/browser.ts), the benchmark's browser section and `npm run screenshot:lab`.
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);
