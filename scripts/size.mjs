#!/usr/bin/env node
// Measures the built files against the budgets in size-budgets.json (min+gzip, 1 KB = 1024 bytes)
// and exits 1 when one is over. An `import` budget is what an app pays: esbuild bundles and minifies
// `import { X } from '<package>'` for the browser (the package resolved through our own `exports`,
// so dist/ is measured), with the budget's `external` left out. A `path` budget is a file as built.
//
//   node scripts/size.mjs          measure dist/ (run `npm run build` first; `npm run size` does)
//   node scripts/size.mjs --why    also list the biggest contributors, per source file
//   node scripts/size.mjs --features   the client's minified bytes grouped by feature (what each costs)
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const { budgets, peers = [] } = JSON.parse(readFileSync(path.join(root, 'size-budgets.json'), 'utf8'));
const why = process.argv.includes('--why');
const features = process.argv.includes('--features');

/** Source files by the feature they implement (first match wins); what matches none is "other". */
const FEATURES = [
  ['events: on / waitFor / stream (eventemitter3 inside)', /client\/(events|event-stream)\.ts|eventemitter3/],
  ['protocol: codec, frames, batches, close codes', /protocol\/(codec|frames|batch|close-codes)\.ts/],
  ['resume: sequence numbers, acks, session', /protocol\/sequence\.ts|client\/session\.ts/],
  ['offline queue: bounds, overflow, TTL', /client\/(outbound|outgoing)\.ts/],
  ['persistence (queue across reloads)', /client\/persistence\.ts|storage\//],
  ['requests and ping()', /client\/(requests|pings)\.ts/],
  [
    'connection: state machine, attempts, handshake',
    /client\/(connection|connector|connect-time|state-machine|link)\.ts/,
  ],
  ['reconnect backoff', /client\/retry\.ts/],
  ['heartbeat', /client\/(heartbeat|keepalive)\.ts/],
  ['browser lifecycle (offline, visibility, bfcache)', /client\/(lifecycle|pauses)\.ts/],
  [
    'fallback: selection, remembered transport, upgrade probe',
    /transports\/(registry|urls|memory)\.ts|client\/upgrade\.ts/,
  ],
  ['transport: long polling', /transports\/longpoll/],
  ['transport: SockJS adapter (sockjs-client not included)', /transports\/sockjs/],
  ['transport: WebSocket (and the socket code SockJS shares)', /transports\/(websocket|socket)/],
  ['options and their validation', /client\/options\.ts/],
  ['typed errors', /src\/errors\//],
  ['client class and core', /client\/(client|core)\.ts/],
];

/** "6 KB" -> 6144; plain numbers are bytes. */
function parseLimit(limit) {
  const m = /^\s*([\d.]+)\s*(B|KB|kB)?\s*$/.exec(String(limit));
  if (!m) throw new Error(`size-budgets.json: cannot parse limit ${JSON.stringify(limit)}`);
  return Math.round(Number(m[1]) * (m[2] && m[2] !== 'B' ? 1024 : 1));
}

const gzipped = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;

/** Resolves `surelink` and `surelink/sub` through package.json `exports` (import condition). */
const selfReference = {
  name: 'self-reference',
  setup(b) {
    const filter = new RegExp(`^${pkg.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/.*)?$`);
    b.onResolve({ filter }, (args) => {
      const sub = args.path === pkg.name ? '.' : `.${args.path.slice(pkg.name.length)}`;
      const target = pkg.exports?.[sub]?.import?.default ?? pkg.exports?.[sub]?.import;
      if (typeof target !== 'string') return { errors: [{ text: `package.json exports has no import for "${sub}"` }] };
      return { path: path.join(root, target) };
    });
  },
};

async function bundle(contents, { external = [], plugins = [], metafile = false }) {
  const result = await build({
    stdin: { contents, resolveDir: root, sourcefile: 'size-entry.js', loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external,
    plugins,
    metafile,
    write: false,
    logLevel: 'silent',
  });
  return { bytes: result.outputFiles[0].contents, metafile: result.metafile };
}

async function measure(budget) {
  if (budget.path) {
    const file = path.join(root, budget.path);
    if (!existsSync(file)) throw new Error(`${budget.path} is missing: run \`npm run build\` first`);
    return gzipped(readFileSync(file));
  }
  const entry = pkg.exports?.['.']?.import?.default;
  if (!existsSync(path.join(root, entry))) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const { bytes } = await bundle(`import ${budget.import} from '${budget.from}';\nconsole.log(${names(budget)});\n`, {
    external: budget.external,
    plugins: budget.from === pkg.name ? [selfReference] : [],
  });
  return gzipped(bytes);
}

const names = (budget) =>
  budget.import
    .replace(/[{}]/g, '')
    .split(',')
    .map((n) =>
      n
        .trim()
        .split(/\s+as\s+/)
        .pop(),
    )
    .join(', ');

/** Biggest contributors: the same import bundled from src/ (dist/ is one file), minified bytes per file. */
async function contributors(budget) {
  const { metafile } = await bundle(
    `import ${budget.import} from './src/index.ts';\nconsole.log(${names(budget)});\n`,
    {
      external: budget.external,
      metafile: true,
    },
  );
  const output = Object.values(metafile.outputs)[0];
  return Object.entries(output.inputs)
    .map(([file, { bytesInOutput }]) => ({ file, bytes: bytesInOutput }))
    .filter((row) => row.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
}

let over = 0;
let short = 0;
console.log('size (min+gzip)      limit     target  name');
for (const budget of budgets) {
  const limit = parseLimit(budget.limit);
  const target = budget.target === undefined ? limit : parseLimit(budget.target);
  const size = await measure(budget);
  if (size > limit) over++;
  if (size > target) short++;
  const verdict =
    size > limit
      ? `  OVER the limit by ${kb(size - limit)}`
      : size > target
        ? `  ${kb(size - target)} above target`
        : '';
  console.log(
    `${kb(size).padStart(9)}  ${budget.limit.padStart(9)}  ${(budget.target ?? budget.limit).padStart(9)}  ${budget.name}${verdict}`,
  );
}
if (peers.length > 0) {
  console.log('\nfor scale, peers measured the same way (not enforced):');
  for (const peer of peers) {
    const size = await measure(peer).catch((error) => error);
    const shown = size instanceof Error ? `(not measured: ${size.message.split('\n')[0]})` : kb(size).padStart(9);
    console.log(`${shown}  import ${peer.import} from '${peer.from}'`);
  }
}
if (why) {
  const importBudget = budgets.find((b) => b.import);
  const rows = await contributors(importBudget);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(
    `\nbiggest contributors to ${importBudget.name ?? 'the client'} (minified bytes before gzip, from src/):`,
  );
  for (const { file, bytes } of rows.slice(0, 25))
    console.log(`${String(bytes).padStart(7)}  ${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${file}`);
  console.log(`${String(total).padStart(7)}  total`);
}
if (features) {
  const importBudget = budgets.find((b) => b.import);
  const rows = await contributors(importBudget);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  const gzip = await measure(importBudget);
  const groups = new Map();
  for (const { file, bytes } of rows) {
    const name = FEATURES.find(([, pattern]) => pattern.test(file))?.[0] ?? 'other';
    groups.set(name, (groups.get(name) ?? 0) + bytes);
  }
  console.log(
    `\n${importBudget.name} by feature: minified bytes before gzip, and that share of the ${kb(gzip)} min+gzip (an estimate: gzip does not split by file):`,
  );
  for (const [name, bytes] of [...groups].sort((a, b) => b[1] - a[1]))
    console.log(`${String(bytes).padStart(7)}  ${kb((bytes / total) * gzip).padStart(8)}  ${name}`);
}
if (short > 0)
  console.log(
    `\n${short} target(s) not met yet: make the code smaller (node scripts/size.mjs --why), then lower the limits.`,
  );
if (over > 0) {
  console.error(
    `\n${over} limit(s) exceeded. Limits only go down: make the code smaller (node scripts/size.mjs --why).`,
  );
  process.exitCode = 1;
}
