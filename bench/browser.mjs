// The browser section: bench/browser/bench-page.js in headless Chromium, launched directly (no
// DevTools protocol attached: an attached network domain slows WebSocket traffic severalfold),
// pinned to the client core, against one server process on the server core. The page POSTs its
// results; Chromium and the server are stopped whatever happens.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM_ARGS as FLAGS } from '../scripts/chromium.mjs';
import { CHROMIUM } from './machine.mjs';
import { CORES, nextMessage, pinnedCommand, spawnGroup, startServer, stop } from './processes.mjs';

export async function runBrowserSection(config, log) {
  if (!existsSync(CHROMIUM)) return { skipped: `${CHROMIUM} not found` };
  const profile = mkdtempSync(path.join(os.tmpdir(), 'surelink-bench-chromium-'));
  let server;
  let chromium;
  try {
    server = await startServer(['ws', 'surelink', 'socketio', 'static']);
    const query = new URLSearchParams({ n: config.messages, k: config.echoes, rounds: config.rounds, timeout: 20_000 });
    const url = `http://127.0.0.1:${server.port}/bench.html?${query}`;
    const [command, args] = pinnedCommand(CORES?.client ?? 0, CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, url]);
    log(`browser: ${path.basename(CHROMIUM)} ${url}`);
    chromium = spawnGroup(command, args, { stdio: 'ignore' });
    const msg = await nextMessage(server.child, 'browser', config.timeoutMs);
    const body = JSON.parse(msg.body);
    return body.error ? { error: body.error, results: body.results ?? [] } : body;
  } catch (error) {
    return { error: String(error?.message ?? error) };
  } finally {
    await stop(chromium, 3_000);
    await stop(server?.child);
    rmSync(profile, { recursive: true, force: true });
  }
}
