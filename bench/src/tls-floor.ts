// `npm run tls-floor`: what an idle TLS WebSocket costs the server that holds it, with TLS ended in
// Node (as the relay does) and with TLS ended in nginx in front of a plain WebSocket server — the
// question behind issue 10's 50 KB per session. P-256 certificates, TLS 1.3, a client certificate
// on every connection, one echo each. Not part of `npm test`; needs `openssl`, and `nginx` for the
// second case (apt-get install nginx). TLS_FLOOR_CONNECTIONS (2000, at most 5000) per case.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './openssh.js';
import { tsxChild } from './processes.js';

const COUNT = Math.min(Number(process.env.TLS_FLOOR_CONNECTIONS ?? 2000), 5000);
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const PEER = 'bench/src/tls-floor-peer.ts';

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

interface Held {
  /** The processes whose memory grows with the connections: the server, and the proxy's worker. */
  pids: number[];
  port: number;
}

/** RSS growth (KiB) per connection over the processes that hold them. */
async function measure(dir: string, held: Held): Promise<{ open: number; failed: number; perConnection: number[] }> {
  const before = held.pids.map(rssKiB);
  const clients = await tsxChild<{ open: number; failed: number }>(PEER, [
    'clients',
    dir,
    String(COUNT),
    String(held.port),
  ]);
  try {
    // Let allocations settle (TLS buffers are given back, or not, once the handshake traffic ends).
    await new Promise((r) => setTimeout(r, 3000));
    const after = held.pids.map(rssKiB);
    const open = Math.max(clients.info.open, 1);
    return { ...clients.info, perConnection: after.map((a, i) => (a - before[i]!) / open) };
  } finally {
    await clients.stop();
  }
}

function nginxConfig(dir: string, port: number, backendPort: number): string {
  return `worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
daemon off;
events { worker_connections 12000; }
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

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

async function startNginx(
  dir: string,
  backendPort: number,
): Promise<{ child: ChildProcess; worker: number; port: number }> {
  mkdirSync(join(dir, 'tmp'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, backendPort));
  const child = spawn(NGINX!, ['-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
    if (children && (await accepts(port))) return { child, worker: Number(children.split(' ')[0]), port };
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not start: ${readFileSync(join(dir, 'nginx-error.log'), 'utf8')}`);
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-tls-floor-'));
try {
  makeCertificates(dir);
  console.log(
    `${COUNT} idle TLS 1.3 WebSockets (P-256, client certificate, one echo each); RSS growth per connection:`,
  );
  const inNode = await tsxChild<{ port: number }>(PEER, ['server-tls', dir]);
  try {
    const r = await measure(dir, { pids: [inNode.child.pid!], port: inNode.info.port });
    console.log(
      `  TLS in Node (the relay's way): ${r.perConnection[0]!.toFixed(1)} KiB (${r.open} open, ${r.failed} failed)`,
    );
  } finally {
    await inNode.stop();
  }
  if (!NGINX) console.log('  TLS in nginx: n/a (nginx is not installed: apt-get install nginx)');
  else {
    const backend = await tsxChild<{ port: number }>(PEER, ['server-plain', dir]);
    const nginx = await startNginx(dir, backend.info.port);
    try {
      const r = await measure(dir, { pids: [nginx.worker, backend.child.pid!], port: nginx.port });
      const [proxy, plain] = r.perConnection as [number, number];
      console.log(
        `  TLS in nginx, plain WebSocket behind it: ${(proxy + plain).toFixed(1)} KiB = nginx ${proxy.toFixed(1)} + ` +
          `Node ${plain.toFixed(1)} (${r.open} open, ${r.failed} failed)`,
      );
    } finally {
      nginx.child.kill('SIGTERM');
      await backend.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
