import { request } from 'node:https';
import {
  HealthResponse,
  createPinnedHttpsAgent,
  curlPin,
  fetchServerCertificate,
  pinsEqual,
  type PresentedCertificate,
} from '@airlock/shared';
import { fail, pass, type StatusCheck } from './status-check.js';
import type { AgentStatusReport } from './status-report.js';

/** Tickets live 60 s and are checked against this machine's clock: beyond this, sessions fail. */
const MAX_SKEW_MS = 30_000;

/**
 * The relay as this VM sees it: reachable, presenting the pinned key (or, when not, which
 * certificate it presents instead: the usual cause is a TLS-inspecting proxy), and its clock.
 */
export async function relayCheck(
  https: string,
  pin: string,
  timeoutMs: number,
): Promise<{ checks: StatusCheck[]; summary: NonNullable<AgentStatusReport['relay']> }> {
  const url = new URL(https);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const where = `${host}:${port}`;
  let presented: PresentedCertificate;
  try {
    presented = await fetchServerCertificate(host, port, timeoutMs);
  } catch (e) {
    const message = (e as Error).message;
    return {
      checks: [
        fail(
          'relay',
          `cannot reach the relay: ${message}`,
          `check that the relay runs and that this VM reaches ${where} (firewall, DNS, proxy)`,
        ),
      ],
      summary: { reachable: false, error: message },
    };
  }
  if (!pinsEqual(presented.pin, pin))
    return {
      checks: [
        fail(
          'relay',
          `${where} presents another key than the pinned one: ${curlPin(presented.pin)} (certificate "${presented.subject}", issued by "${presented.issuer}"), expected ${curlPin(pin)}; the agent sends nothing to it`,
          'a TLS-inspecting proxy between this VM and the relay is the usual cause: exempt the relay from inspection. ' +
            "If the admin replaced the relay's TLS key, enroll again: airlock-agent enroll --force <relay-url> --token-file <file>",
        ),
      ],
      summary: { reachable: true, pinOk: false, presented },
    };
  const checks = [pass('relay', `${where} presents the pinned key (${curlPin(pin)})`)];
  const health = await relayTime(`${https}/healthz`, pin, timeoutMs);
  if (!health.ok) {
    checks.push(
      fail(
        'relay',
        `${where} has the right key but ${health.error}`,
        'check the relay’s log; is the URL the relay’s own?',
      ),
    );
    return { checks, summary: { reachable: true, pinOk: true, presented, error: health.error } };
  }
  const skew = health.skewMs;
  const ahead = skew < 0 ? 'ahead of' : 'behind';
  checks.push(
    Math.abs(skew) <= MAX_SKEW_MS
      ? pass('clock', `this VM's clock is within ${Math.round(Math.abs(skew))} ms of the relay's`)
      : fail(
          'clock',
          `this VM's clock is ${Math.round(Math.abs(skew) / 1000)} s ${ahead} the relay's: session tickets (valid 60 s) will be refused as expired or not yet valid`,
          'synchronise the clock (timedatectl set-ntp true, or chrony)',
        ),
  );
  return { checks, summary: { reachable: true, pinOk: true, presented, clockSkewMs: Math.round(skew) } };
}

/** `GET /healthz` over a connection pinned to the relay's key: the relay's clock against ours. */
function relayTime(
  url: string,
  pin: string,
  timeoutMs: number,
): Promise<{ ok: true; skewMs: number } | { ok: false; error: string }> {
  const agent = createPinnedHttpsAgent({ pin, timeoutMs });
  return new Promise((resolve) => {
    const sent = Date.now();
    const done = (r: { ok: true; skewMs: number } | { ok: false; error: string }) => {
      clearTimeout(timer);
      agent.destroy();
      resolve(r);
    };
    const req = request(url, { agent, method: 'GET' });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => done({ ok: false, error: `did not answer /healthz: ${e.message}` }));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 4096) req.destroy(new Error('oversized /healthz answer'));
      });
      res.on('end', () => {
        const received = Date.now();
        let parsed: ReturnType<typeof HealthResponse.safeParse> | undefined;
        try {
          parsed = HealthResponse.safeParse(JSON.parse(body));
        } catch {
          parsed = undefined;
        }
        if (res.statusCode !== 200 || !parsed?.success)
          return done({
            ok: false,
            error: `answers /healthz with HTTP ${res.statusCode} and no Airlock health document`,
          });
        done({ ok: true, skewMs: Date.parse(parsed.data.time) - (sent + received) / 2 });
      });
    });
    req.end();
  });
}
