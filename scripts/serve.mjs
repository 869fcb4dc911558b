// `npm start`: builds dist/ when it is missing or older than its sources, then serves the
// examples on http://localhost:${PORT:-8080} (HOST overrides the interface).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const inputs = ['src', 'rollup.config.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
const outputs = ['index.js', 'index.cjs', 'server.js', 'server.cjs', 'surelink.min.js', 'surelink.full.min.js'];

/** Newest modification time under `target` (a file or a directory), 0 if absent. */
function newest(target) {
  let info;
  try {
    info = statSync(target);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  return readdirSync(target).reduce((max, name) => Math.max(max, newest(path.join(target, name))), info.mtimeMs);
}

/** Oldest modification time among the build outputs, 0 if one is missing. */
function oldestOutput() {
  return Math.min(...outputs.map((file) => newest(path.join(root, 'dist', file))));
}

function buildIfStale() {
  const sourcesChanged = Math.max(...inputs.map((input) => newest(path.join(root, input))));
  if (oldestOutput() > sourcesChanged) return;
  console.log('dist/ is missing or older than src/: building…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('build failed; not starting the examples server');
    process.exit(result.status ?? 1);
  }
}

buildIfStale();
// Imported only now: it loads dist/server.js, which the build may just have written.
const { startExamplesServer } = await import('./examples-server.mjs');
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? 'localhost';

let server;
try {
  server = await startExamplesServer({ port, host });
} catch (error) {
  const hint = error?.code === 'EADDRINUSE' ? ` (port ${port} is taken: try PORT=8081 npm start)` : '';
  console.error(`could not start the examples server: ${error?.message ?? error}${hint}`);
  process.exit(1);
}
console.log(`surelink examples: ${server.url}/  (realtime endpoint ${server.url}/realtime, Ctrl+C stops)`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close().finally(() => process.exit(0));
  });
}
