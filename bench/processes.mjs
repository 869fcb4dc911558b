// Child processes of the bench: forked, pinned to one core each (client on core 0, server on
// core 1, where `taskset` exists and there are two cores), every wait bounded, every child stopped.
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROWS, rowByName } from './rows.mjs';
import { takeTurns } from './turns.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROW_NAMES = ROWS.map((r) => r.name);

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));
/** Core of the client side and of the server side; null when not pinned. */
export const CORES = TASKSET && os.cpus().length >= 2 ? { client: 0, server: 1 } : null;

const children = new Set();

/** Pins every thread of `pid` to `core` (no-op without taskset). */
function pin(pid, core) {
  if (!CORES || core === undefined) return;
  execFileSync(TASKSET, ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

/** The argv prefix that starts a command on `core` (for non-Node children such as Chromium). */
export function pinnedCommand(core, command, args) {
  return CORES ? [TASKSET, ['-c', String(core), command, ...args]] : [command, args];
}

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Spawns a non-Node child in its own process group (so its helpers can be stopped with it). */
export function spawnGroup(command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true });
  child.__group = true;
  return track(child);
}

/** Stops a child (its whole group when it leads one): SIGTERM, then SIGKILL after `graceMs`. */
export function stop(child, graceMs = 2_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = (signal) => {
      try {
        if (child.__group) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ cmd: 'stop' }, () => {});
    else kill('SIGTERM');
    setTimeout(() => kill('SIGTERM'), Math.min(500, graceMs / 2)).unref();
  });
}

/** Last resort on exit: kill whatever is left, synchronously. */
export function stopAll() {
  for (const child of children) {
    try {
      if (child.__group) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

/** Resolves with the first IPC message of `type` (rejects on exit or after `ms`). */
export function nextMessage(child, type, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(reject, new Error(`no '${type}' message within ${ms} ms`)), ms);
    const onMessage = (msg) => {
      if (msg?.type === type || (type === 'result' && msg?.type === 'error')) finish(resolve, msg);
    };
    const onExit = (code, signal) => finish(reject, new Error(`child exited (${code ?? signal}) before '${type}'`));
    function finish(settle, value) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle(value);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Forks a bench module, pinned to `core`; stdout/stderr are passed through. */
export function forkPinned(module, args, core, execArgv = []) {
  const child = track(
    fork(path.join(here, module), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  try {
    pin(child.pid, core);
  } catch (error) {
    stopAll();
    throw error;
  }
  return child;
}

/** Starts bench/server.mjs with `backends`, on the server core; resolves with it and its port. */
export async function startServer(backends) {
  const child = forkPinned('server.mjs', backends, CORES?.server);
  try {
    const { port } = await nextMessage(child, 'listening', 15_000);
    return { child, port };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

/**
 * One row once: a fresh server process and a fresh client process, given at most `maxMs` in all.
 * Errors (a timeout included) are returned, not thrown.
 */
export async function runNodeRow(name, config, maxMs = config.timeoutMs * 8) {
  let server;
  let client;
  try {
    server = await startServer([rowByName(name).server]);
    client = forkPinned('client.mjs', [], CORES?.client, ['--expose-gc']);
    client.send({ cmd: 'run', row: name, base: `127.0.0.1:${server.port}`, config });
    // Bounded: warm-up, three measurements and the heap test each have their own timeouts too.
    const msg = await nextMessage(client, 'result', Math.min(config.timeoutMs * 8, maxMs));
    return msg.type === 'error' ? { error: msg.error } : msg.result;
  } catch (error) {
    return { error: String(error?.stack ?? error) };
  } finally {
    await stop(client);
    await stop(server?.child);
  }
}

/**
 * The RTT of every row in `names` once: one server process with all their backends and one client
 * process that keeps every row connected and takes them in turns (bench/client.mjs `rtt`). Resolves
 * with { [row]: { rttP50, rttP99 } | { error } }; a failure of the whole phase is every row's error.
 */
export async function runRttPhase(names, config, maxMs) {
  let server;
  let client;
  try {
    server = await startServer([...new Set(names.map((name) => rowByName(name).server))]);
    client = forkPinned('client.mjs', [], CORES?.client, ['--expose-gc']);
    client.send({ cmd: 'rtt', rows: names, base: `127.0.0.1:${server.port}`, config });
    const msg = await nextMessage(client, 'result', maxMs);
    if (msg.type === 'error') throw new Error(msg.error);
    return msg.result;
  } catch (error) {
    return Object.fromEntries(names.map((name) => [name, { error: String(error?.stack ?? error) }]));
  } finally {
    await stop(client);
    await stop(server?.child);
  }
}

/**
 * The RTT of every row in `names` once, each row in processes of its own: a server process with its
 * backend and a client process with its connection, all started at once and taking turns as in
 * `runRttPhase` (bench/turns.mjs), the parent passing the turn. No library's code runs in another's
 * process, so none warms or pollutes what the others' echoes run through (the `ws` package is
 * shared by four rows). Same result shape as `runRttPhase`.
 */
export async function runRttIsolated(names, config, maxMs) {
  const deadline = Date.now() + maxMs;
  const left = () => Math.max(1, deadline - Date.now());
  const pairs = new Map();
  const out = {};
  /** Sends `msg` to `row`'s client and resolves with its answer. */
  const ask = async (row, msg) => {
    const { client } = pairs.get(row);
    if (msg) client.send(msg);
    const answer = await nextMessage(client, 'result', left());
    if (answer.type === 'error') throw new Error(answer.error);
    return answer.result;
  };
  try {
    for (const name of names) {
      const pair = {};
      pairs.set(name, pair);
      try {
        pair.server = await startServer([rowByName(name).server]);
        pair.client = forkPinned('client.mjs', [], CORES?.client, ['--expose-gc']);
        await ask(name, { cmd: 'turns', row: name, base: `127.0.0.1:${pair.server.port}`, config });
      } catch (error) {
        out[name] = { error: String(error?.stack ?? error) };
      }
    }
    const connected = names.filter((name) => !out[name]);
    return { ...out, ...(await takeTurns(connected, config, (row, n) => ask(row, { cmd: 'echoes', n }))) };
  } catch (error) {
    return Object.fromEntries(names.map((name) => [name, { error: String(error?.stack ?? error) }]));
  } finally {
    await Promise.all([...pairs.values()].flatMap((pair) => [stop(pair.client), stop(pair.server?.child)]));
  }
}
