/**
 * Debian's nginx as a reverse proxy in front of test servers: run from a temporary prefix (config,
 * pid, logs and temp paths inside it), in the foreground as a child of the test process, on
 * 127.0.0.1 only. Every start has a matching stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const NGINX_PATH = '/usr/sbin/nginx';

/**
 * True when the nginx tests skip: nginx is missing and this is not CI. Says why, loudly. In CI
 * (`CI` set) they never skip: without nginx they fail in `startNginx`.
 */
export const skipNginxTests: boolean = (() => {
  if (existsSync(NGINX_PATH) || process.env.CI) return false;
  console.warn(
    `\n!!! nginx tests SKIPPED: no nginx at ${NGINX_PATH}. ` +
      `Install Debian's package (apt-get install nginx) to run them; in CI they run and fail without it.\n`,
  );
  return true;
})();

export interface NginxConfig {
  /** Ports of the upstream servers on 127.0.0.1. */
  readonly upstreams: readonly number[];
  /** Pass `Upgrade`/`Connection` over HTTP/1.1 (the recommended config); false: a plain `proxy_pass`. */
  readonly upgrade: boolean;
  /** `ip_hash` in the upstream block (sticky by client address); default round-robin. */
  readonly ipHash?: boolean;
  /** `proxy_read_timeout`, e.g. '2s'; nginx's default (60s) when absent. */
  readonly readTimeout?: string;
  /**
   * Paths nginx serves itself, as a site serves its pages and scripts next to the proxied
   * `/realtime`: URL prefix such as `/dist/` (not `/`, which goes to the upstreams) -> absolute directory. Every
   * other path goes to the upstreams.
   */
  readonly files?: Readonly<Record<string, string>>;
}

export interface Nginx {
  readonly port: number;
  /** ws://127.0.0.1:port/realtime */
  readonly url: string;
  /** http://127.0.0.1:port, the origin of pages served with `files` */
  readonly origin: string;
  /** Stops nginx (every proxied connection is cut) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A port nobody listens on right now: nginx cannot listen on port 0. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function configText(dir: string, port: number, config: NginxConfig): string {
  const upgrade = config.upgrade
    ? [
        'proxy_http_version 1.1;',
        'proxy_set_header Upgrade $http_upgrade;',
        'proxy_set_header Connection $conn_upgrade;',
      ]
    : [];
  const files = Object.entries(config.files ?? {});
  // `^~`: a prefix served from disk wins over every other location. Without `types` nginx would
  // send every file as text/plain, and a page would show as text.
  const served = files.length
    ? [
        '  types { text/html html; text/javascript js mjs; application/json json map; text/css css; }',
        ...files.map(([prefix, dir]) => `  location ^~ ${prefix} { alias ${dir.replace(/\/?$/, '/')}; }`),
      ]
    : [];
  return [
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 512; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}/body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    "  map $http_upgrade $conn_upgrade { default upgrade; '' close; }",
    '  upstream surelink {',
    ...(config.ipHash ? ['    ip_hash;'] : []),
    ...config.upstreams.map((p) => `    server 127.0.0.1:${p};`),
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    ...served.map((line) => `  ${line}`),
    '    location / {',
    '      proxy_pass http://surelink;',
    ...upgrade.map((line) => `      ${line}`),
    ...(config.readTimeout ? [`      proxy_read_timeout ${config.readTimeout};`] : []),
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts nginx with `config` on a free port of 127.0.0.1; resolves once it accepts connections. */
export async function startNginx(config: NginxConfig): Promise<Nginx> {
  if (!existsSync(NGINX_PATH)) {
    throw new Error(`nginx not found at ${NGINX_PATH}: install Debian's nginx package (apt-get install nginx)`);
  }
  for (const prefix of Object.keys(config.files ?? {})) {
    // A prefix without its closing slash would let `alias` map /dist../x outside the directory.
    if (!/^\/.+\/$/.test(prefix)) throw new Error(`files: URL prefix ${prefix} is not /name/`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'surelink-nginx-'));
  // Started as root, nginx's worker runs as nobody and buffers large bodies in the temp paths here.
  await chmod(dir, 0o755);
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(conf, configText(dir, port, config));
  let child: ChildProcess | undefined;

  const run = async (): Promise<void> => {
    const proc = spawn(NGINX_PATH, ['-p', dir, '-c', conf, '-e', `${dir}/error.log`], { stdio: 'ignore' });
    child = proc;
    const deadline = Date.now() + 10_000;
    while (!(await accepting(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        const log = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
        await halt();
        throw new Error(`nginx did not start on port ${port}: ${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  // SIGTERM is nginx's fast shutdown: the master stops its worker, which drops every connection.
  const halt = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await run();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: `ws://127.0.0.1:${port}/realtime`,
    origin: `http://127.0.0.1:${port}`,
    async restart() {
      await halt();
      await run();
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
