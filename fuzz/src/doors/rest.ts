import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { request, type Dispatcher } from 'undici';
import { API_PREFIX, createPinnedDispatcher } from '@airlock/shared';
import type { RelaySystem } from '../relay-system.js';
import { checkChild, finding, newStats, outcome, rssMiB, sampleRss, type DoorStats } from '../stats.js';
import { mutatedBody, nastyString, wellFormed } from '../values.js';

type Auth = 'none' | 'user' | 'admin';

interface Endpoint {
  method: string;
  /** With `:param` placeholders, filled with valid-looking values or fuzz. */
  path: string;
  auth: Auth;
  /** A valid-shaped example body (its keys are what the mutations work on). */
  body?: Record<string, unknown>;
}

const PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n';
const SIG = 'A'.repeat(88);

/** Every route of the relay's REST API (user, enrollment, login, admin), with example bodies. */
function endpoints(sys: RelaySystem): Endpoint[] {
  const a = (method: string, path: string, body?: Record<string, unknown>): Endpoint => ({
    method,
    path: `/admin${path}`,
    auth: 'admin',
    ...(body ? { body } : {}),
  });
  return [
    {
      method: 'POST',
      path: '/enroll/begin',
      auth: 'none',
      body: { code: sys.spareUserCode.split('.')[1] ?? 'x', publicKeyPem: PEM, deviceName: 'laptop' },
    },
    {
      method: 'POST',
      path: '/enroll/complete',
      auth: 'none',
      body: { enrollmentId: randomUUID(), totp: '123456', signature: SIG },
    },
    { method: 'POST', path: '/agent/enroll', auth: 'none', body: { token: 'A'.repeat(43) } },
    { method: 'POST', path: '/login/challenge', auth: 'none', body: { user: sys.user } },
    {
      method: 'POST',
      path: '/login',
      auth: 'user',
      body: {
        user: sys.user,
        deviceId: randomUUID(),
        nonce: 'n'.repeat(43),
        certThumbprint: 'a'.repeat(43),
        signature: SIG,
        totp: '123456',
      },
    },
    { method: 'GET', path: '/vms', auth: 'user' },
    { method: 'POST', path: '/sessions', auth: 'user', body: { vm: sys.vm } },
    {
      method: 'POST',
      path: '/sessions/:uuid/resume',
      auth: 'user',
      body: { resumeToken: 'e30.e30.sig', userChain: ['e30.e30.sig'], crl: 'e30.e30.sig' },
    },
    { method: 'GET', path: '/healthz', auth: 'none' },
    {
      method: 'POST',
      path: '/admin/token',
      auth: 'none',
      body: { grant_type: 'client_credentials', client_id: sys.admin.clientId, client_secret: 'wrong' },
    },
    a('GET', '/users'),
    a('GET', '/users/:user'),
    a('POST', '/users', { name: 'u-fuzz' }),
    a('POST', '/users/:user/disable'),
    a('POST', '/users/:user/enable'),
    a('POST', '/users/:user/revoke'),
    a('POST', '/users/:user/enrollment-codes'),
    a('POST', '/users/:user/unlock'),
    a('GET', '/sources'),
    a('POST', '/sources/:address/unlock'),
    a('GET', '/devices?user=:user'),
    a('POST', '/devices/:uuid/revoke'),
    a('GET', '/vms'),
    a('POST', '/vms', { id: 'vm-fuzz', ports: [8080] }),
    a('PUT', '/vms/:vm/ports', { ports: [8080, 8081] }),
    a('POST', '/vms/:vm/agent-tokens'),
    a('GET', '/vms/:vm/credentials'),
    a('POST', '/agent-credentials/:uuid/revoke'),
    a('GET', '/grants?user=:user&vm=:vm'),
    a('PUT', '/grants', {
      user: 'spare',
      vm: 'vm-fuzz',
      ports: [8080],
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    }),
    a('DELETE', '/grants?user=:user&vm=:vm'),
    a('GET', '/sessions?live=true'),
    a('POST', '/sessions/:uuid/kill'),
    a('GET', '/clients'),
    a('POST', '/clients', { name: 'c-fuzz', scopes: ['users.read'] }),
    a('POST', '/clients/:client/revoke'),
    a('GET', '/audit?type=session.*&limit=5'),
  ];
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'FOO'];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=x-unknown',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/*+json',
  '',
];

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  auth: Auth | 'garbage';
}

function requestArbitrary(list: Endpoint[]): fc.Arbitrary<FuzzRequest> {
  const param = fc.oneof(
    // Existing names the fuzzer may disable, revoke or re-port freely — never its own user or VM,
    // which the later doors need.
    fc.constantFrom('spare', 'spare-vm', randomUUID(), 'ac_' + 'A'.repeat(22)),
    nastyString.map((s) => encodeURIComponent(wellFormed(s))),
    fc.constantFrom('%', '%zz', '..', '%2e%2e', '%00', 'a/b', ''),
  );
  return fc
    .record({
      endpoint: fc.constantFrom(...list),
      method: fc.option(fc.constantFrom(...METHODS), { freq: 4 }),
      params: fc.array(param, { minLength: 5, maxLength: 5 }),
      body: fc.option(fc.constant(null), { freq: 1 }),
      bodyChoice: fc.nat(),
      contentType: fc.constantFrom(...CONTENT_TYPES),
      encoding: fc.option(fc.constantFrom('gzip', 'deflate', 'br', 'x-junk'), { freq: 8 }),
      auth: fc.constantFrom<FuzzRequest['auth']>('none', 'user', 'admin', 'garbage', 'garbage'),
      authGarbage: fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Basic !!!',
        'Basic ' + Buffer.from(':').toString('base64'),
        'Bearer a.b.c',
        'Bearer ' + 'x'.repeat(5000),
        'Digest x',
        'bearer \u00ff',
      ),
      raw: fc.option(fc.constantFrom('{', '{"a":', '[1,2', 'null', '"str"', '\u0000', '{"a":1}{"b":2}', 'a=1&b=2'), {
        freq: 6,
      }),
      pathSuffix: fc.option(fc.constantFrom('/', '//', '?', '?a=1&a=2', '?x[]=1', '#frag', '/extra', '.json', '%2F'), {
        freq: 6,
      }),
    })
    .chain((r) =>
      (r.endpoint.body ? mutatedBody(r.endpoint.body) : fc.option(fc.jsonValue({ maxDepth: 2 }), { freq: 3 })).map(
        (body) => {
          let i = 0;
          const path = r.endpoint.path.replace(/:(\w+)/g, () => r.params[i++ % 5]!) + (r.pathSuffix ?? '');
          const headers: Record<string, string> = {};
          if (r.contentType) headers['content-type'] = r.contentType;
          if (r.encoding) headers['content-encoding'] = r.encoding;
          if (r.auth === 'garbage') headers.authorization = r.authGarbage;
          const text = r.raw ?? (body === undefined || body === null ? undefined : JSON.stringify(body));
          return {
            method: r.method ?? r.endpoint.method,
            path,
            headers,
            auth: r.auth,
            ...(text === undefined ? {} : { body: text }),
          };
        },
      ),
    );
}

/** Malformed requests at every REST endpoint of a relay child: never a 5xx, never a dead relay. */
export async function fuzzRest(sys: RelaySystem, inputs: number, seed: number): Promise<DoorStats> {
  const stats = newStats('relay REST');
  stats.childProcess = true;
  stats.rssStartMiB = rssMiB(sys.child.pid);
  const bugsBefore = sys.child.bugs().length;
  const plain = createPinnedDispatcher({ pin: sys.pin }, { connections: 4 });
  const asUser = createPinnedDispatcher({ pin: sys.pin, clientCert: sys.userCert }, { connections: 4 });
  let adminToken = await getAdminToken(sys, plain);
  let adminTokenAt = Date.now();
  const list = endpoints(sys);
  const samples = fc.sample(requestArbitrary(list), { numRuns: inputs, seed });
  try {
    for (const req of samples) {
      if (!sys.child.alive()) break;
      if (Date.now() - adminTokenAt > 5 * 60_000) {
        adminToken = await getAdminToken(sys, plain);
        adminTokenAt = Date.now();
      }
      const headers = { ...req.headers };
      if (req.auth === 'user') headers.authorization = `Bearer ${sys.userToken}`;
      if (req.auth === 'admin') headers.authorization = `Bearer ${adminToken}`;
      stats.inputs++;
      sampleRss(stats, sys.child.pid, Math.ceil(inputs / 10));
      try {
        const res = await request(`${sys.url}${API_PREFIX}${req.path}`, {
          method: req.method as Dispatcher.HttpMethod,
          headers,
          ...(req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD' ? { body: req.body } : {}),
          dispatcher: req.auth === 'user' ? asUser : plain,
          headersTimeout: 20_000,
          bodyTimeout: 20_000,
        });
        const text = await res.body.text();
        outcome(stats, String(res.statusCode));
        if (res.statusCode >= 500) {
          stats.fiveXx++;
          finding(
            stats,
            `${res.statusCode} for ${req.method} ${req.path} ${JSON.stringify(req.headers)} body ${req.body?.slice(0, 200)}: ${text.slice(0, 200)}`,
          );
        }
      } catch (e) {
        // A client-side refusal (undici will not send some methods/headers) is not the relay's doing.
        if (!sys.child.alive()) break;
        if (!/invalid|not supported|Invalid/i.test((e as Error).message))
          finding(stats, `request failed: ${(e as Error).message} for ${req.method} ${req.path}`);
      }
    }
  } finally {
    await Promise.all([plain.close(), asUser.close()]);
  }
  checkChild(stats, sys.child, bugsBefore, 'the relay');
  return stats;
}

async function getAdminToken(sys: RelaySystem, dispatcher: Dispatcher): Promise<string> {
  const res = await request(`${sys.url}${API_PREFIX}/admin/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: sys.admin.clientId,
      client_secret: sys.admin.clientSecret,
    }),
    dispatcher,
  });
  const body = (await res.body.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no admin token: ${res.statusCode} ${JSON.stringify(body)}`);
  return body.access_token;
}
