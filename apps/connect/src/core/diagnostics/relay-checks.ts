import { lookup } from 'node:dns/promises';
import { connect as tcpConnect, isIP } from 'node:net';
import {
  curlPin,
  fetchServerCertificate,
  pinsEqual,
  TlsConnectError,
  type HealthResponse,
  type PresentedCertificate,
  type ReadinessResponse,
} from '@airlock/shared';
import type { Enrollment } from '../identity/config-store.js';
import { RelayClient } from '../relay/relay-client.js';
import type { RelayFetch } from '../relay/relay-http.js';
import { fail, pass, type CheckRecorder, type CheckResult } from './check-recorder.js';
import type { DoctorReport } from './doctor-report.js';

/**
 * Beyond this, the clocks disagree enough to matter: tickets live 60 s and the agent checks
 * them against the VM's clock, authenticator codes allow one 30 s step, and the login's end is
 * judged here by this clock.
 */
export const MAX_CLOCK_SKEW_MS = 30_000;

export interface RelayCheckOptions {
  enrollment: Enrollment;
  /** The clock the skew is measured with (the seam tests fake). */
  now: () => number;
  /** Bound on each of DNS, TCP and TLS. */
  networkMs: number;
  /** Bound on each HTTPS request. */
  httpMs: number;
  fetch?: RelayFetch;
}

/**
 * The relay as this machine reaches it, step by step — name, TCP, TLS, the key against the pin,
 * the relay's own health and clock — stopping at the first step that fails, since nothing after
 * it could mean anything. Returns what it learnt, and whether the login check may follow.
 */
export async function relayChecks(
  rec: CheckRecorder,
  options: RelayCheckOptions,
): Promise<{ relay: NonNullable<DoctorReport['relay']>; reachable: boolean }> {
  const { enrollment } = options;
  const url = new URL(enrollment.relayUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const where = `${host}:${port}`;
  const relay: NonNullable<DoctorReport['relay']> = { url: enrollment.relayUrl, pin: curlPin(enrollment.relayPin) };
  const stop = (after: Parameters<CheckRecorder['stop']>[0], reason: string) => {
    rec.stop(after, reason);
    return { relay, reachable: false };
  };

  const dns = await rec.run('relay_dns', async () => {
    if (isIP(host)) {
      relay.addresses = [host];
      return pass(`${host} is an address: no name to look up`);
    }
    const found = await within(lookup(host, { all: true }), options.networkMs, `no DNS answer for ${host}`);
    if (!found.ok)
      return fail(
        'dns_failed',
        `cannot resolve ${host}: ${found.error}`,
        'check the relay address and this network’s DNS; on a VPN, connect it first',
      );
    relay.addresses = found.value.map((a) => a.address);
    return pass(`${host} is ${relay.addresses.join(', ')}`);
  });
  if (dns.status === 'fail') return stop('relay_dns', 'the relay’s name does not resolve');

  const tcp = await rec.run('relay_tcp', () => tcpCheck(host, port, options.networkMs));
  if (tcp.status === 'fail') return stop('relay_tcp', 'no TCP connection to the relay');

  let presented: PresentedCertificate | undefined;
  const tls = await rec.run('relay_tls', async () => {
    try {
      presented = await fetchServerCertificate(host, port, options.networkMs);
    } catch (e) {
      const why = e instanceof TlsConnectError ? e.message : (e as Error).message;
      return fail(
        'tls_failed',
        `no TLS handshake with ${where}: ${why}`,
        'is the relay URL right (https, the relay’s port)? a proxy or firewall that cuts TLS is the other usual cause',
      );
    }
    relay.presented = presented;
    return pass(`TLS handshake done: certificate "${presented.subject}", issued by "${presented.issuer}"`);
  });
  if (tls.status === 'fail' || !presented) return stop('relay_tls', 'no TLS connection to the relay');

  const cert = presented;
  const pin = await rec.run('relay_pin', async () =>
    pinsEqual(cert.pin, enrollment.relayPin)
      ? pass(`${where} presents the key pinned at enrollment (${curlPin(enrollment.relayPin)})`)
      : fail(
          'pin_mismatch',
          `${where} presents another key than the one pinned at enrollment: ${curlPin(cert.pin)} ` +
            `(certificate "${cert.subject}", issued by "${cert.issuer}"), expected ${curlPin(enrollment.relayPin)}; ` +
            'nothing was sent to it',
          'the usual cause is a TLS-inspecting proxy (a corporate firewall, an antivirus) answering in the relay’s place, ' +
            `named by the issuer above: ask your IT to exempt ${host} from TLS inspection. If your admin replaced the ` +
            'relay’s key, enroll again with a new code. Do not log in from this network until then',
        ),
  );
  if (pin.status === 'fail')
    return stop('relay_pin', 'nothing may be sent to a relay whose key does not match the pin');

  const client = new RelayClient({
    endpoint: { url: enrollment.relayUrl, pin: enrollment.relayPin },
    timeoutMs: options.httpMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  try {
    let health: { sent: number; received: number; body: HealthResponse } | undefined;
    const answers = await rec.run('relay_health', async () => {
      const sent = options.now();
      const h = await client.health();
      const received = options.now();
      if (!h.ok)
        return fail(
          'not_a_relay',
          `${where} has the pinned key but does not answer as an Airlock relay: ${h.error.message}`,
          'tell your admin: the relay’s address may now lead elsewhere, or the relay is broken (its log says why)',
        );
      health = { sent, received, body: h.value };
      const ready = await client.readiness();
      return readinessResult(ready.ok ? ready.value : undefined, ready.ok ? '' : ready.error.message, relay);
    });
    if (answers.code === 'not_a_relay' || !health) return stop('relay_health', 'the relay does not answer');

    const { sent, received, body } = health;
    const skew = Date.parse(body.time) - (sent + received) / 2;
    relay.clockSkewMs = Math.round(skew);
    await rec.run('clock', async () => clockResult(skew));
    return { relay, reachable: true };
  } finally {
    await client.close();
  }
}

function readinessResult(
  ready: ReadinessResponse | undefined,
  error: string,
  relay: NonNullable<DoctorReport['relay']>,
): CheckResult {
  relay.ready = ready?.status === 'ready';
  if (relay.ready) return pass('the relay answers and is ready (its store and signing key work)');
  const why = ready
    ? Object.entries(ready.checks)
        .filter(([, c]) => !c.ok)
        .map(([name, c]) => `${name}: ${c.reason ?? 'failed'}`)
        .join('; ')
    : error;
  return fail(
    'relay_not_ready',
    `the relay answers but cannot serve logins and sessions now (${why})`,
    'tell your admin: the relay’s /readyz and log say why (its database or signing key)',
  );
}

function clockResult(skewMs: number): CheckResult {
  const abs = Math.abs(skewMs);
  if (abs <= MAX_CLOCK_SKEW_MS) return pass(`this computer’s clock is within ${Math.round(abs)} ms of the relay’s`);
  // The relay's clock minus ours: positive means ours is behind.
  const side = skewMs > 0 ? 'behind' : 'ahead of';
  return fail(
    'clock_skew',
    `this computer’s clock is ${Math.round(abs / 1000)} s ${side} the relay’s: your login seems to end early or late, ` +
      'and authenticator codes are refused when your phone’s clock is off the same way',
    'turn on automatic time on this computer (and on your phone): Windows Settings › Time, macOS Date & Time, ' +
      'Linux timedatectl set-ntp true',
  );
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<CheckResult> {
  const where = `${host}:${port}`;
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (r: CheckResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        done(
          fail(
            'tcp_timeout',
            `no answer from ${where} within ${Math.round(timeoutMs / 1000)} s`,
            `a firewall or proxy drops the connection: does this network allow HTTPS to port ${port}? Is the relay’s host up?`,
          ),
        ),
      timeoutMs,
    );
    socket.once('connect', () => done(pass(`TCP connection to ${where} (${socket.remoteAddress ?? host}) made`)));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED')
        return done(
          fail(
            'tcp_refused',
            `${where} refused the connection: nothing listens there`,
            'the relay is down, or the address is wrong: ask your admin whether the relay runs (helpdesk: curl -k https://' +
              `${where}/healthz)`,
          ),
        );
      if (e.code === 'ETIMEDOUT')
        return done(fail('tcp_timeout', `no answer from ${where} (${e.code})`, 'a firewall drops the connection'));
      done(
        fail(
          'tcp_unreachable',
          `cannot reach ${where}: ${e.code ?? e.message}`,
          'check this computer’s network connection (and VPN) and the relay address',
        ),
      );
    });
  });
}

/** `p`'s value, or its error's code, or `timeout` after `ms`. */
async function within<T>(
  p: Promise<T>,
  ms: number,
  timeoutText: string,
): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then((value) => ({ ok: true as const, value })),
      new Promise<{ ok: false; error: string }>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, error: timeoutText }), ms);
      }),
    ]);
  } catch (e) {
    return { ok: false, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
