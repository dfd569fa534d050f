import { randomBytes, randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { request, type Agent as HttpsAgent } from 'node:https';
import { WebSocket } from 'ws';
import { createPinnedHttpsAgent, SESSION_ID_PARAM, SessionResponse, WS_PATHS } from '@airlock/shared';
import { httpStatus, rawConnect } from '../raw-tls.js';
import type { RelaySystem } from '../relay-system.js';
import { checkChild, finding, newStats, outcome, rssMiB, sampleRss, type DoorStats } from '../stats.js';
import { mutatedBody, nastyJson, nastyString, wellFormed } from '../values.js';
import { wsFrame } from '../ws-frames.js';

interface Upgrade {
  requestLine: string;
  headers: [string, string][];
  /** Frames sent right after the request (and after a 101, as the first frames). */
  frames: Buffer[];
  validAgent: boolean;
}

const KEY = randomBytes(16).toString('base64');

/** Agent control messages the relay must parse: register, dial-refused, channel-refused, and junk. */
function controlMessage(): fc.Arbitrary<Buffer> {
  const examples: Record<string, unknown>[] = [
    { type: 'register', hostKey: randomBytes(120).toString('base64'), version: '0.1.0' },
    { type: 'dial-refused', sessionId: randomUUID(), reason: 'no' },
    { type: 'channel-refused', sessionId: randomUUID(), channel: 'direct-tcpip', target: '127.0.0.1:22', reason: 'no' },
  ];
  return fc.oneof(
    fc
      .constantFrom(...examples)
      .chain((e) => mutatedBody(e))
      .map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    nastyJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'undefined')),
    fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
  );
}

/** Frames: well-formed text/binary/control frames with fuzzed payloads, and broken framing. */
function frames(): fc.Arbitrary<Buffer[]> {
  const frame = fc.oneof(
    { weight: 5, arbitrary: controlMessage().map((p) => wsFrame(1, p)) },
    { weight: 2, arbitrary: controlMessage().map((p) => wsFrame(2, p)) },
    {
      weight: 2,
      arbitrary: fc
        .record({
          opcode: fc.integer({ min: 0, max: 15 }),
          fin: fc.boolean(),
          rsv: fc.integer({ min: 0, max: 7 }),
          masked: fc.boolean(),
          payload: fc.uint8Array({ maxLength: 300 }),
          lie: fc.option(fc.constantFrom(0, 125, 126, 65_535, 65_536, 2 ** 31, 2 ** 40), { freq: 3 }),
        })
        .map((f) =>
          wsFrame(f.opcode, Buffer.from(f.payload), {
            fin: f.fin,
            rsv: f.rsv,
            masked: f.masked,
            ...(f.lie === null ? {} : { declaredLength: f.lie }),
          }),
        ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)) },
  );
  return fc.array(frame, { maxLength: 4 });
}

/** Half the inputs are a valid agent upgrade (fuzzing what follows it), half a fuzzed upgrade. */
function upgradeArbitrary(sys: RelaySystem): fc.Arbitrary<Upgrade> {
  const valid = frames().map((f): Upgrade => ({
    requestLine: `GET ${WS_PATHS.agentControl} HTTP/1.1`,
    headers: [
      ['Host', '127.0.0.1'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', KEY],
      ['Sec-WebSocket-Version', '13'],
      ['Authorization', `Bearer ${sys.agentCredential}`],
    ],
    frames: f,
    validAgent: true,
  }));
  return fc.oneof(valid, fuzzedUpgrade(sys));
}

function fuzzedUpgrade(sys: RelaySystem): fc.Arbitrary<Upgrade> {
  const path = fc.oneof(
    fc.constantFrom(
      WS_PATHS.agentControl,
      `${WS_PATHS.agentSession}?sid=${randomUUID()}`,
      `${WS_PATHS.connect}?sid=${randomUUID()}`,
      `${WS_PATHS.connect}?sid=not-a-uuid`,
      `${WS_PATHS.connect}`,
      '/ws/other',
      '/api/v1/vms',
      '*',
      '/%zz',
      `${WS_PATHS.agentControl}?sid=${'x'.repeat(5000)}`,
    ),
    nastyString.map((s) => `/${encodeURIComponent(wellFormed(s))}`),
  );
  const auth = fc.oneof(
    fc.constant(`Bearer ${sys.agentCredential}`),
    fc.constant(`Bearer ${sys.vm}.wrong`),
    fc.constant(`Bearer ${sys.userToken}`),
    fc.constantFrom('Bearer', 'Basic x', '', 'Bearer ' + 'A'.repeat(7000)),
    nastyString.map((s) => `Bearer ${s.replace(/[\r\n]/g, '')}`),
  );
  return fc
    .record({
      method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'CONNECT', 'G\u00e9T'),
      path,
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 extra'),
      upgrade: fc.constantFrom('websocket', 'websocket', 'WebSocket', 'h2c', ''),
      connection: fc.constantFrom('Upgrade', 'Upgrade', 'keep-alive, Upgrade', 'close', ''),
      key: fc.constantFrom(KEY, KEY, '', 'short', 'A'.repeat(300), '!!!!!!!!!!!!!!!!!!!!!!=='),
      wsVersion: fc.constantFrom('13', '13', '8', '', '99999999999999999999'),
      auth: fc.option(auth, { freq: 8 }),
      extra: fc.array(
        fc.tuple(
          fc.constantFrom(
            'X-Forwarded-For',
            'Sec-WebSocket-Extensions',
            'Sec-WebSocket-Protocol',
            'Origin',
            'Content-Length',
            'Transfer-Encoding',
            'Host',
          ),
          nastyString.map((s) => s.replace(/[\r\n]/g, ' ').slice(0, 2000)),
        ),
        { maxLength: 3 },
      ),
      frames: frames(),
    })
    .map((r) => {
      const headers: [string, string][] = [
        ['Host', '127.0.0.1'],
        ['Upgrade', r.upgrade],
        ['Connection', r.connection],
        ['Sec-WebSocket-Key', r.key],
        ['Sec-WebSocket-Version', r.wsVersion],
      ];
      if (r.auth !== null) headers.push(['Authorization', r.auth]);
      headers.push(...r.extra);
      return {
        requestLine: `${r.method} ${r.path} ${r.version}`,
        headers,
        frames: r.frames,
        validAgent:
          r.method === 'GET' && r.path === WS_PATHS.agentControl && r.auth === `Bearer ${sys.agentCredential}`,
      };
    });
}

/**
 * Crafted WebSocket upgrades (data and agent control) and their first frames, on raw TLS
 * connections to a relay child: never a 5xx, never a dead relay. A valid agent credential gets
 * the fuzzer past the upgrade into the control-message parser.
 */
export async function fuzzUpgrades(sys: RelaySystem, inputs: number, seed: number): Promise<DoorStats> {
  const stats = newStats('relay WebSocket upgrades + first frames');
  stats.childProcess = true;
  stats.rssStartMiB = rssMiB(sys.child.pid);
  const bugsBefore = sys.child.bugs().length;
  for (const u of fc.sample(upgradeArbitrary(sys), { numRuns: inputs, seed })) {
    if (!sys.child.alive()) break;
    stats.inputs++;
    sampleRss(stats, sys.child.pid, Math.ceil(inputs / 10));
    let conn;
    try {
      conn = await rawConnect(sys.url, sys.pin);
    } catch (e) {
      finding(stats, `could not connect: ${(e as Error).message}`);
      continue;
    }
    try {
      const head = `${u.requestLine}\r\n${u.headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
      conn.socket.write(Buffer.from(head, 'latin1'));
      await conn.until((b) => b.includes('\r\n\r\n'), 3000);
      const status = httpStatus(conn.received());
      outcome(stats, status === undefined ? 'no HTTP answer' : `HTTP ${status}`);
      if (status !== undefined && status >= 500) {
        stats.fiveXx++;
        finding(stats, `${status} for ${JSON.stringify(head.slice(0, 300))}`);
      }
      if (status === 101) {
        const headerEnd = conn.received().indexOf('\r\n\r\n') + 4;
        for (const f of u.frames) conn.socket.write(f);
        // The relay answers a register, or closes the socket with a reason (or waits for more).
        if (u.frames.length) await conn.until((b) => b.length > headerEnd, 100);
        outcome(stats, conn.received().length > headerEnd ? 'answered after 101' : 'silent after 101');
      }
    } finally {
      conn.close();
    }
  }
  await dataPlaneFirstFrames(sys, stats, Math.ceil(inputs / 10), seed);
  checkChild(stats, sys.child, bugsBefore, 'the relay');
  return stats;
}

/**
 * Paired data sockets with fuzzed first frames: the fuzzer plays the VM's agent (control link,
 * then the agent's data socket) and the user (ticket, client certificate), then sends junk on
 * both. The relay never parses data frames; it must pair, copy and close without failing.
 */
async function dataPlaneFirstFrames(sys: RelaySystem, stats: DoorStats, sessions: number, seed: number): Promise<void> {
  const agentTls = createPinnedHttpsAgent({ pin: sys.pin });
  const userTls = createPinnedHttpsAgent({ pin: sys.pin, clientCert: sys.userCert });
  const wss = sys.url.replace(/^https/, 'wss');
  const control = new WebSocket(`${wss}${WS_PATHS.agentControl}`, {
    agent: agentTls,
    headers: { authorization: `Bearer ${sys.agentCredential}` },
  });
  control.on('error', () => {});
  const registered = new Promise<void>((resolve, reject) => {
    control.once('message', () => resolve());
    control.once('close', (code, reason) => reject(new Error(`control link closed ${code} ${reason.toString()}`)));
  });
  await new Promise<void>((r) => control.once('open', () => r()));
  control.send(JSON.stringify({ type: 'register', hostKey: randomBytes(100).toString('base64'), version: 'fuzz' }));
  await registered;
  const junk = fc.sample(fc.tuple(frames(), frames()), { numRuns: sessions, seed });
  try {
    for (const [up, down] of junk) {
      if (!sys.child.alive()) break;
      stats.inputs++;
      sampleRss(stats, sys.child.pid, Math.ceil(sessions / 10));
      const res = await fetchSession(sys, userTls);
      if (typeof res === 'string') {
        finding(stats, `POST /sessions failed during the data-plane fuzz: ${res}`);
        break;
      }
      const sid = res.sessionId;
      const agentWs = new WebSocket(`${wss}${WS_PATHS.agentSession}?${SESSION_ID_PARAM}=${sid}`, {
        agent: agentTls,
        headers: { authorization: `Bearer ${sys.agentCredential}` },
      });
      const userWs = new WebSocket(`${wss}${WS_PATHS.connect}?${SESSION_ID_PARAM}=${sid}`, {
        agent: userTls,
        headers: { authorization: `Bearer ${res.ticket}` },
      });
      for (const ws of [agentWs, userWs]) ws.on('error', () => {});
      await Promise.all(
        [agentWs, userWs].map(
          (ws) => new Promise<void>((r) => (ws.once('open', () => r()), ws.once('close', () => r()))),
        ),
      );
      // Raw frames go under the ws client (its own framing would make them well-formed).
      const raw = (ws: WebSocket, fs: Buffer[]) => {
        const sock = (ws as unknown as { _socket?: Socket })._socket;
        for (const f of fs) sock?.write(f);
      };
      raw(agentWs, down);
      raw(userWs, up);
      outcome(
        stats,
        agentWs.readyState === WebSocket.OPEN && userWs.readyState === WebSocket.OPEN ? 'paired' : 'not paired',
      );
      agentWs.send(randomBytes(64));
      await new Promise((r) => setTimeout(r, 20));
      agentWs.terminate();
      userWs.terminate();
    }
  } finally {
    control.terminate();
    agentTls.destroy();
    userTls.destroy();
  }
}

/** A session for the fuzzer's user, or why there is none. */
async function fetchSession(sys: RelaySystem, agent: HttpsAgent): Promise<SessionResponse | string> {
  return new Promise((resolve) => {
    const req = request(
      `${sys.url}/api/v1/sessions`,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${sys.userToken}`, 'content-type': 'application/json' },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          const parsed = SessionResponse.safeParse(json);
          resolve(parsed.success ? parsed.data : `HTTP ${res.statusCode}: ${body.slice(0, 200)}`);
        });
      },
    );
    req.on('error', (e) => resolve(e.message));
    req.end(JSON.stringify({ vm: sys.vm }));
  });
}
