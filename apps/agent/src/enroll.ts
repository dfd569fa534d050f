import { request } from 'node:https';
import {
  AgentEnrollResponse,
  API_PREFIX,
  ApiError,
  createPinnedHttpsAgent,
  OrgInfoResponse,
  parseOneTimeCode,
  publicKeyFromPem,
  TlsConnectError,
  TlsPinMismatchError,
  type Result,
  parseRelayUrl,
} from '@airlock/shared';
import type { KeyObject } from 'node:crypto';
import { certifyWithCredential, generateEd25519, parseAnchor, type PinnedAnchor } from '@airlock/shared/org';
import { AgentOrgTrust } from './org-trust.js';
import { prepareStateDir, readEnrollment, hasEnrollment, writeEnrollment, type AgentEnrollment } from './state-dir.js';

export type EnrollErrorCode =
  | 'bad-url'
  | 'bad-token'
  | 'already-enrolled'
  | 'state-dir'
  | 'tls-pin-mismatch'
  | 'unreachable'
  | 'rejected'
  | 'rate-limited'
  | 'bad-response'
  | 'org-refused';

export interface EnrollError {
  code: EnrollErrorCode;
  /** One line, for a human; never contains the token or the credential. */
  message: string;
  /** For 'rate-limited': the relay's Retry-After. */
  retryAfterSeconds?: number;
}

export interface EnrollOptions {
  /** `https://…` (or `wss://…`, the same listener). */
  relayUrl: string;
  /** The whole one-time token `a1.<secret>.<pin>` as the admin handed it out. */
  token: string;
  stateDir: string;
  /** Replace an existing enrollment in `stateDir`. */
  force?: boolean;
  timeoutMs?: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * `airlock-agent enroll`: exchanges a one-time token for the agent's long-term credential over a
 * TLS connection pinned to the key named in the token, and saves the result in the state dir.
 * Everything that can be checked locally is checked before the token is spent.
 */
/** What an enrollment established: the relay side and, with an a2 token, the organisation pinned. */
export type EnrolledAgent = AgentEnrollment & { org?: { name: string; afp: string } };

export async function enrollAgent(o: EnrollOptions): Promise<Result<EnrolledAgent, EnrollError>> {
  const fail = (code: EnrollErrorCode, message: string, extra: Partial<EnrollError> = {}) =>
    ({ ok: false, error: { code, message, ...extra } }) as const;
  const url = parseRelayUrl(o.relayUrl);
  if (!url.ok) return fail('bad-url', `relay URL: ${url.message}`);
  const https = url.value.https;
  const code = parseOneTimeCode(o.token, 'agent');
  if (!code.ok) return fail('bad-token', `enrollment token: ${code.message}`);
  const { secret, pin } = code.value;

  if (!o.force && hasEnrollment(o.stateDir)) {
    const existing = readEnrollment(o.stateDir);
    const what = existing.ok && existing.value ? ` for VM ${existing.value.vm} (${existing.value.relayUrl})` : '';
    return fail(
      'already-enrolled',
      `${o.stateDir} already holds an agent enrollment${what}; use --force to replace it`,
    );
  }
  const prepared = await prepareStateDir(o.stateDir);
  if (!prepared.ok) return fail('state-dir', prepared.message);

  // With an a2 token the organisation is pinned before the token is spent: a relay that serves
  // another anchor (or none) gets nothing.
  let anchor: PinnedAnchor | undefined;
  if (code.value.org) {
    const fetched = await send('GET', `${https}${API_PREFIX}/org`, undefined, pin, o.timeoutMs);
    if (!fetched.ok) return unreachable(fetched.error);
    const info = OrgInfoResponse.safeParse(tryJson(fetched.value.body));
    if (fetched.value.status !== 200 || !info.success || info.data.anchor === null)
      return fail(
        'org-refused',
        `the token pins organisation ${code.value.org.afp}, but the relay serves no organisation anchor; nothing was spent`,
      );
    const parsedAnchor = parseAnchor(info.data.anchor, code.value.org.afp);
    if (!parsedAnchor.ok)
      return fail('org-refused', `${parsedAnchor.error.message} (${parsedAnchor.error.code}); nothing was spent`);
    anchor = parsedAnchor.value;
  }

  const res = await send('POST', `${https}${API_PREFIX}/agent/enroll`, { token: secret }, pin, o.timeoutMs);
  if (!res.ok) return unreachable(res.error);
  function unreachable(e: Error) {
    if (e instanceof TlsPinMismatchError)
      return fail(
        'tls-pin-mismatch',
        `the relay at ${e.host}:${e.port} presented TLS key ${e.actual ?? '(none)'}, but the token pins ${e.expected}: ` +
          'someone may be intercepting the connection, or the token is for another relay; nothing was sent',
      );
    if (e instanceof TlsConnectError) return fail('unreachable', e.message);
    return fail('unreachable', `cannot reach the relay at ${https}: ${e.message}`);
  }
  const { status, body, retryAfter } = res.value;
  const apiMessage = (): string | undefined => {
    const p = ApiError.safeParse(tryJson(body));
    return p.success ? p.data.error.message : undefined;
  };
  if (status === 401 || status === 403)
    return fail('rejected', `the relay refused the token: ${apiMessage() ?? `HTTP ${status}`}`);
  if (status === 429) {
    const seconds = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    return fail(
      'rate-limited',
      `the relay is rate limiting enrollment: ${apiMessage() ?? 'too many attempts'}` +
        (seconds !== undefined ? `; try again in ${seconds} s` : ''),
      seconds !== undefined ? { retryAfterSeconds: seconds } : {},
    );
  }
  if (status !== 200)
    return fail('bad-response', `the relay answered HTTP ${status}${apiMessage() ? `: ${apiMessage()}` : ''}`);

  const parsed = AgentEnrollResponse.safeParse(tryJson(body));
  if (!parsed.success)
    return fail('bad-response', 'the relay sent an enrollment response this agent does not understand');
  const { vm, credential, relaySigningKeyPem } = parsed.data;
  if (!credential.startsWith(`${vm}.`) || /\s/.test(credential))
    return fail('bad-response', `the relay sent a credential that is not for VM ${vm}`);
  try {
    if (publicKeyFromPem(relaySigningKeyPem).asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
  } catch {
    return fail('bad-response', 'the relay sent a signing key that is not an Ed25519 public key');
  }
  const enrollment: AgentEnrollment = { relayUrl: url.value.https, relayPin: pin, vm, credential, relaySigningKeyPem };
  let identity: { anchorText: string; identityKey: KeyObject; chain: string[] } | undefined;
  if (anchor && code.value.org) {
    const identityKey = generateEd25519();
    const certified = await certifyWithCredential(anchor, parsed.data.org?.chain, {
      kind: 'vm',
      sub: vm,
      credSeed: code.value.org.credSeed,
      key: identityKey,
    });
    if (!certified.ok)
      return fail(
        'org-refused',
        `the relay's answer does not hold this token's organisation credential for VM ${vm} (${certified.error.code}: ${certified.error.message}); the token is spent, ask for a new one`,
      );
    identity = { anchorText: anchor.text, identityKey, chain: certified.value };
  }
  try {
    await writeEnrollment(o.stateDir, enrollment);
    // An a1 token replacing an a2 enrollment (--force, by root on this VM) drops the pin on purpose.
    if (identity) await AgentOrgTrust.save(o.stateDir, identity);
    else await AgentOrgTrust.forget(o.stateDir);
  } catch (e) {
    // The token is spent: say plainly that a new one is needed.
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    return fail('state-dir', `enrolled, but could not save the state in ${o.stateDir} (${why}); ask for a new token`);
  }
  return { ok: true, value: { ...enrollment, ...(anchor ? { org: { name: anchor.org, afp: anchor.afp } } : {}) } };
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type PostResult = Result<{ status: number; body: string; retryAfter: string | undefined }, Error>;

/** One pinned HTTPS request with a bounded response; the pinned agent checks the key before any byte is sent. */
function send(
  method: 'GET' | 'POST',
  url: string,
  json: unknown,
  pin: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<PostResult> {
  const agent = createPinnedHttpsAgent({ pin, timeoutMs });
  const payload = json === undefined ? '' : JSON.stringify(json);
  return new Promise<PostResult>((resolve) => {
    const done = (r: PostResult) => {
      clearTimeout(timer);
      agent.destroy();
      resolve(r);
    };
    const req = request(url, {
      method,
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => done({ ok: false, error: e }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('the relay sent an oversized response'));
        else chunks.push(d);
      });
      res.on('error', (e) => done({ ok: false, error: e }));
      res.on('end', () => {
        const retry = res.headers['retry-after'];
        done({
          ok: true,
          value: {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            retryAfter: Array.isArray(retry) ? retry[0] : retry,
          },
        });
      });
    });
    req.end(payload);
  });
}
