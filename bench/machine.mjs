// What the report says about the machine and the software measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORES } from './processes.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CHROMIUM = '/usr/bin/chromium';

function version(name) {
  try {
    const dir = path.dirname(require.resolve(`${name}/package.json`));
    return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch {
    // socket.io-client's exports map allows package.json; others may not: read it directly.
    try {
      return JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return 'not installed';
    }
  }
}

function quiet(command, args) {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    }).trim();
  } catch {
    return undefined;
  }
}

export function describeMachine() {
  const cpus = os.cpus();
  const self = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const commit = quiet('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = quiet('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']);
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    chromium: quiet(CHROMIUM, ['--version']) ?? 'not found',
    pinned: CORES
      ? `client on core ${CORES.client}, server on core ${CORES.server} (taskset)`
      : 'not pinned (no taskset or one core)',
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: commit ? `${commit}${dirty ? ' + uncommitted changes' : ''}` : 'unknown',
    versions: {
      surelink: self.version,
      ws: version('ws'),
      'socket.io': version('socket.io'),
      'socket.io-client': version('socket.io-client'),
      'engine.io-client': version('engine.io-client'),
      sockjs: version('sockjs'),
      'sockjs-client': version('sockjs-client'),
    },
  };
}
