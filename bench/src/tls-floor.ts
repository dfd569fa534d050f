// `npm run tls-floor`: what an idle TLS WebSocket costs the server that holds it, with TLS ended in
// Node (as the relay does) and with TLS ended in nginx in front of a plain WebSocket server — the
// question behind issue 10's 50 KB per session. P-256 certificates, TLS 1.3, a client certificate
// on every connection, one echo each. Not part of `npm test`; needs `openssl`, and `nginx` for the
// nginx cases (apt-get install nginx). TLS_FLOOR_CONNECTIONS (2000, at most 3000) per case.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portAccepts } from './openssh.js';
import { repoRoot, startJsonChild } from './processes.js';
import { envNumber } from './settings.js';
import { cleanUpOnSignal, stopAllAndRemove } from './stop-on-signal.js';

const COUNT = envNumber('tls-floor', {
  name: 'TLS_FLOOR_CONNECTIONS',
  default: 2000,
  min: 1,
  max: 3000,
  integer: true,
});
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const PEER = join(repoRoot, 'bench/src/tls-floor-peer.ts');

const rssKiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
};

function makeCertificates(dir: string): void {
  for (const name of ['server', 'client'])
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat([
        '-keyout',
        join(dir, `${name}.key`),
        '-out',
        join(dir, `${name}.crt`),
        '-subj',
        `/CN=${name}`,
      ]),
      { stdio: 'ignore' },
    );
}

/** Every process the run started, for a signal's cleanup (each stop runs once, however often called). */
const stops: Array<() => Promise<void>> = [];

/** A peer process; Node servers get `--expose-gc`, and collect their garbage on SIGUSR2. */
async function peer<T>(args: string[]) {
  const child = await startJsonChild<T>(process.execPath, ['--expose-gc', '--import', 'tsx', PEER, ...args]);
  stops.push(child.stop);
  return child;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Held {
  /** The processes whose memory grows with the connections: the server, and the proxy's worker. */
  pids: number[];
  /** Those that are Node servers: asked to collect their garbage before each reading. */
  nodePids: number[];
  port: number;
}

/** RSS growth (KiB) per connection over the processes that hold them, each read after a collection. */
async function measure(dir: string, held: Held): Promise<{ open: number; failed: number; perConnection: number[] }> {
  const settled = async () => {
    for (const pid of held.nodePids) process.kill(pid, 'SIGUSR2');
    await pause(1000);
    return held.pids.map(rssKiB);
  };
  const before = await settled();
  const clients = await peer<{ open: number; failed: number }>(['clients', dir, String(COUNT), String(held.port)]);
  try {
    await pause(2000);
    const after = await settled();
    const open = Math.max(clients.info.open, 1);
    return { ...clients.info, perConnection: after.map((a, i) => (a - before[i]!) / open) };
  } finally {
    await clients.stop();
  }
}

/** The nginx settings that lowered its cost most: no session tickets, small TLS records, X25519 only. */
const TUNED = `ssl_session_tickets off; ssl_buffer_size 4k; ssl_ecdh_curve X25519; proxy_buffering off;`;

function nginxConfig(dir: string, port: number, backendPort: number, tuned: boolean): string {
  return `worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
daemon off;
events { worker_connections 8000; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/server.crt;
    ssl_certificate_key ${dir}/server.key;
    ssl_protocols TLSv1.3;
    ssl_verify_client optional_no_ca;
    ${tuned ? TUNED : ''}
    location / {
      proxy_pass http://127.0.0.1:${backendPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
      proxy_read_timeout 3600s;
      proxy_buffer_size 4k;
    }
  }
}
`;
}

function workerOf(master: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(' ')[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined; // the master is gone
  }
}

/** nginx in the foreground, its master and its one worker; stop() waits for both to be gone. */
async function startNginx(dir: string, backendPort: number, tuned: boolean) {
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, backendPort, tuned));
  const child = spawn(NGINX!, ['-c', conf, '-e', join(dir, 'nginx-error.log')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let worker: number | undefined;
  let stopped: Promise<void> | undefined;
  // Once only: called again later (a signal's cleanup), it must not SIGKILL pids reused since.
  const stop = () =>
    (stopped ??= (async () => {
      // SIGTERM to the master ends its workers; a worker whose master was killed outright would stay.
      child.kill('SIGTERM');
      await Promise.race([exited, pause(5000)]);
      for (const pid of [child.pid, worker])
        try {
          if (pid) process.kill(pid, 'SIGKILL');
        } catch {
          // gone, as it should be
        }
    })());
  for (let i = 0; i < 50 && child.exitCode === null; i++) {
    await pause(100);
    worker = workerOf(child.pid!);
    if (worker && (await portAccepts(port))) {
      stops.push(stop);
      return { worker, port, stop };
    }
  }
  await stop();
  const log = existsSync(join(dir, 'nginx-error.log')) ? readFileSync(join(dir, 'nginx-error.log'), 'utf8') : '';
  throw new Error(`nginx did not start${log ? `: ${log}` : ''}`);
}

async function viaNginx(dir: string, tuned: boolean): Promise<void> {
  const backend = await peer<{ port: number }>(['server-plain', dir]);
  try {
    const nginx = await startNginx(dir, backend.info.port, tuned);
    try {
      const r = await measure(dir, {
        pids: [nginx.worker, backend.child.pid!],
        nodePids: [backend.child.pid!],
        port: nginx.port,
      });
      const [proxy, plain] = r.perConnection as [number, number];
      console.log(
        `  TLS in nginx${tuned ? ', tuned' : ''}, plain WebSocket behind it: ${(proxy + plain).toFixed(1)} KiB = ` +
          `nginx ${proxy.toFixed(1)} + Node ${plain.toFixed(1)} (${r.open} open, ${r.failed} failed)`,
      );
    } finally {
      await nginx.stop();
    }
  } finally {
    await backend.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-tls-floor-'));
cleanUpOnSignal('tls-floor', () => stopAllAndRemove(stops, dir));
try {
  makeCertificates(dir);
  console.log(
    `${COUNT} idle TLS 1.3 WebSockets (P-256, client certificate, one echo each); RSS growth per connection:`,
  );
  const inNode = await peer<{ port: number }>(['server-tls', dir]);
  try {
    const pid = inNode.child.pid!;
    const r = await measure(dir, { pids: [pid], nodePids: [pid], port: inNode.info.port });
    console.log(
      `  TLS in Node, defaults (the relay's way): ${r.perConnection[0]!.toFixed(1)} KiB (${r.open} open, ${r.failed} failed)`,
    );
  } finally {
    await inNode.stop();
  }
  if (!NGINX) console.log('  TLS in nginx: n/a (nginx is not installed: apt-get install nginx)');
  else {
    const version = spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr.trim();
    console.log(`  (${version || 'nginx, version unknown'}; Debian's OpenSSL; Node uses its bundled one)`);
    await viaNginx(dir, false);
    await viaNginx(dir, true);
  }
} finally {
  await stopAllAndRemove(stops, dir);
}
// No code: a signal being handled has set the exit status (stop-on-signal.ts).
process.exit();
