import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SshServerSession } from '@microsoft/dev-tunnels-ssh';
import * as OTPAuth from 'otpauth';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  certThumbprint,
  enrollSigningInput,
  formatOneTimeCode,
  mintClientCertificate,
  mintServerCertificate,
  newSecret,
  peerCertificateThumbprint,
  spkiPin,
  sshFingerprint,
  sshFingerprintFromPem,
  verifyLogin,
  verifyStatement,
  type MintedCertificate,
  type SessionResponse,
} from '@airlock/shared';
import { generateHostKey, publicKeyBlob } from '@airlock/shared/ssh';
import type { RelayCredentials } from '../login/login.js';
import { runFakeAgent } from './fake-agent.js';

export interface FakeRelayOptions {
  /** Fingerprint of the one user key the fake agent accepts; default: the key of the certificate the token is bound to. */
  acceptUserKey?: string;
  /** Ports in the session response (what the ticket allows). */
  ports?: number[];
  /** Ports the fake agent really connects to (default: same as `ports`). */
  agentPorts?: number[];
  /** What happens on the data socket upgrade. */
  dataPlane?: 'pair' | 'reject-401' | 'agent-refused' | 'unpaired-timeout' | 'silent-agent';
  /** Register a different host key than the agent presents (a man in the middle). */
  registerWrongHostKey?: boolean;
  /** Wrong codes before a pending enrollment is void (the real relay: 5). */
  maxEnrollFailures?: number;
  /** Access token lifetime (default 10 minutes). */
  tokenTtlMs?: number;
  /** The fake agent sends past the windows Connect grants (a hostile VM side). */
  agentIgnoresWindow?: boolean;
  /** The fake agent never acknowledges what Connect sends (a hostile VM side). */
  agentWithholdsAcknowledgements?: boolean;
  /** Serve with this certificate instead of the shared test one (a relay whose key changed). */
  certificate?: MintedCertificate;
}

interface Token {
  user: string;
  thumbprint: string;
  /** SSH fingerprint of the certificate's key: what the agent accepts for sessions. */
  ukey: string;
  expiresAt: number;
}

export interface FakeRelay {
  url: string;
  /** `sha256/…` of the relay certificate, as an enrollment code carries it. */
  pin: string;
  seen: {
    requests: string[];
    windowChanges: Array<[number, number]>;
    /** Authorization headers of data socket upgrades. */
    authorization: string[];
    urls: string[];
    /** Every API request, with the client certificate on its connection. */
    http: Array<{ method: string; path: string; thumbprint?: string; body: string }>;
    /** Client certificate thumbprint on each data socket upgrade. */
    wsThumbprints: Array<string | undefined>;
    /** TCP connections accepted (also those that never sent a request). */
    connections: number;
  };
  lastSession?: SessionResponse;
  /** The fake agent's SSH server sessions, so a test can act as a hostile VM. */
  agentSessions: SshServerSession[];
  /** The relay's end of every data socket the fake agent serves, newest last (to inject raw bytes). */
  dataSockets: WebSocket[];
  /** When set, new data sockets go to this instead of the fake agent: a hostile VM side. */
  hostileAgent: ((ws: WebSocket) => void) | undefined;
  devices: Map<string, { user: string; publicKeyPem: string }>;
  /** A user enrollment code (`u1.…`) for `user`, carrying this relay's pin. */
  enrollmentCode(user: string): string;
  /** The user's TOTP secret (base32) once one was handed out. */
  totpSecret(user: string): string | undefined;
  /** An access token bound to `certPem` without the login dance, for session tests. */
  issueToken(user: string, certPem: string): string;
  /** Closes every Connect data socket with `code` and `reason` (agent gone, revocation…). */
  dropSessions(code: number, reason: string): void;
  close(): Promise<void>;
}

let sharedCert: Promise<MintedCertificate> | undefined;
/** One relay certificate for all tests in a process. */
export function fakeRelayCertificate(): Promise<MintedCertificate> {
  return (sharedCert ??= mintServerCertificate({ commonName: 'fake-relay', ipAddresses: ['127.0.0.1'] }));
}

export function totpFor(secretBase32: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer: 'fake-relay', label: 'user', secret: OTPAuth.Secret.fromBase32(secretBase32) });
}

/**
 * A relay and an agent in one small HTTPS server, for Connect's tests: enrollment (one-time codes,
 * TOTP set-up), challenge login bound to the client certificate on the connection, token +
 * certificate checks on `/vms` and `/sessions`, and `/ws/connect` checking the ticket and the
 * certificate before running the fake agent's SSH server directly (no pairing).
 */
export async function startFakeRelay(options: FakeRelayOptions = {}): Promise<FakeRelay> {
  const cert = options.certificate ?? (await fakeRelayCertificate());
  const hostKey = await generateHostKey();
  const presentedBlob = await publicKeyBlob(hostKey);
  const registeredBlob = options.registerWrongHostKey ? await publicKeyBlob(await generateHostKey()) : presentedBlob;
  const ports = options.ports ?? [];
  const seen: FakeRelay['seen'] = {
    requests: [],
    windowChanges: [],
    authorization: [],
    urls: [],
    http: [],
    wsThumbprints: [],
    connections: 0,
  };
  const agentSessions: SshServerSession[] = [];
  const codes = new Map<string, string>(); // secret → user
  const totpSecrets = new Map<string, string>();
  const pending = new Map<string, { user: string; publicKeyPem: string; failures: number }>();
  const devices = new Map<string, { user: string; publicKeyPem: string }>();
  const nonces = new Set<string>();
  const tokens = new Map<string, Token>();
  const tickets = new Map<string, Token>();
  const maxFailures = options.maxEnrollFailures ?? 3;
  const pin = spkiPin(cert.certPem);

  const issueToken = (user: string, certPem: string, thumbprint: string): string => {
    const token = randomBytes(24).toString('base64url');
    const ukey = sshFingerprintFromPem(
      new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    tokens.set(token, { user, thumbprint, ukey, expiresAt: Date.now() + (options.tokenTtlMs ?? 600_000) });
    return token;
  };

  const json = (res: ServerResponse, status: number, body: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const fail = (res: ServerResponse, status: number, code: string, message: string) =>
    json(res, status, { error: { code, message } });

  const https: Server = createServer(
    { cert: cert.certPem, key: cert.keyPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => route(req, body, res));
    },
  );
  https.on('connection', () => seen.connections++);
  https.on('tlsClientError', () => {});
  const sockets = new Set<Socket>();
  https.on('connection', (s: Socket) => (sockets.add(s), s.on('close', () => sockets.delete(s))));

  function route(req: IncomingMessage, raw: string, res: ServerResponse): void {
    const thumbprint = peerCertificateThumbprint(req.socket);
    seen.http.push({ method: req.method ?? '', path: req.url ?? '', thumbprint, body: raw });
    let b: Record<string, string>;
    try {
      b = raw ? (JSON.parse(raw) as Record<string, string>) : {};
    } catch {
      return fail(res, 400, 'bad_request', '(body): not JSON');
    }
    const path = `${req.method} ${req.url}`;
    if (path === 'POST /api/v1/enroll/begin') {
      const user = codes.get(b.code!);
      if (!user) return fail(res, 401, 'enrollment_code_rejected', 'this enrollment code is not valid or was used');
      codes.delete(b.code!);
      const enrollmentId = randomUUID();
      pending.set(enrollmentId, { user, publicKeyPem: b.publicKeyPem!, failures: 0 });
      let totp: { uri: string; secretBase32: string } | null = null;
      if (!totpSecrets.has(user)) {
        const secret = new OTPAuth.Secret({ size: 20 }).base32;
        totpSecrets.set(user, secret);
        const t = new OTPAuth.TOTP({
          issuer: 'Airlock',
          label: `${user}@fake-relay`,
          secret: OTPAuth.Secret.fromBase32(secret),
        });
        totp = { uri: t.toString(), secretBase32: secret };
      }
      return json(res, 200, { enrollmentId, user, expiresAt: new Date(Date.now() + 600_000).toISOString(), totp });
    }
    if (path === 'POST /api/v1/enroll/complete') {
      const p = pending.get(b.enrollmentId!);
      if (!p) return fail(res, 404, 'enrollment_not_found', 'this enrollment is unknown or has expired');
      const sigOk = verifyStatement(p.publicKeyPem, enrollSigningInput(b.enrollmentId!), b.signature!);
      const codeOk = totpFor(totpSecrets.get(p.user)!).validate({ token: b.totp!, window: 1 }) !== null;
      if (!sigOk || !codeOk) {
        p.failures++;
        const voided = p.failures >= maxFailures;
        if (voided) pending.delete(b.enrollmentId!);
        const message = sigOk ? 'the authenticator code is wrong' : 'the enrollment signature does not match';
        return fail(res, 401, 'enrollment_failed', voided ? `${message}; this enrollment is void` : message);
      }
      pending.delete(b.enrollmentId!);
      const deviceId = randomUUID();
      devices.set(deviceId, { user: p.user, publicKeyPem: p.publicKeyPem });
      return json(res, 200, { user: p.user, deviceId });
    }
    if (path === 'POST /api/v1/login/challenge') {
      const nonce = randomUUID() + randomUUID();
      nonces.add(nonce);
      return json(res, 200, { nonce, expiresAt: new Date(Date.now() + 60_000).toISOString() });
    }
    if (path === 'POST /api/v1/login') {
      const certPem = (req.socket as TLSSocket).getPeerX509Certificate()?.toString();
      if (!thumbprint || !certPem || thumbprint !== b.certThumbprint)
        return fail(res, 401, 'certificate_required', 'the login must present the certificate it names');
      const device = devices.get(b.deviceId!);
      const statement = { user: b.user!, deviceId: b.deviceId!, nonce: b.nonce!, certThumbprint: b.certThumbprint! };
      if (
        !device ||
        device.user !== b.user ||
        !nonces.delete(b.nonce!) ||
        !verifyLogin(device.publicKeyPem, statement, b.signature!)
      )
        return fail(res, 401, 'login_failed', 'unknown device, key or challenge');
      if (totpFor(totpSecrets.get(b.user!)!).validate({ token: b.totp!, window: 1 }) === null)
        return fail(res, 401, 'totp_failed', 'the authenticator code is wrong');
      const accessToken = issueToken(b.user!, certPem, thumbprint);
      const expiresAt = new Date(tokens.get(accessToken)!.expiresAt).toISOString();
      return json(res, 200, { accessToken, expiresAt, user: b.user });
    }
    const token = tokens.get(/^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
    if (!token) return fail(res, 401, 'unauthenticated', 'missing or bad access token');
    if (token.expiresAt <= Date.now()) return fail(res, 401, 'token_expired', 'access token has expired');
    if (thumbprint !== token.thumbprint)
      return fail(res, 401, 'certificate_mismatch', 'this access token is bound to another client certificate');
    if (path === 'GET /api/v1/vms')
      return json(res, 200, {
        vms: [
          { id: 'demo-vm', online: true, ports },
          { id: 'off-vm', online: false, ports: [] },
        ],
      });
    if (path === 'POST /api/v1/sessions') {
      if (b.vm === 'off-vm') return fail(res, 409, 'vm_offline', 'the agent of off-vm is not connected');
      const ticket = 'test-ticket-' + randomUUID();
      tickets.set(ticket, token);
      relay.lastSession = {
        sessionId: randomUUID(),
        vm: b.vm!,
        ticket,
        hostKey: registeredBlob.toString('base64'),
        hostKeyFingerprint: sshFingerprint(registeredBlob),
        ports,
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      return json(res, 201, relay.lastSession);
    }
    fail(res, 404, 'not_found', 'no');
  }

  const wss = new WebSocketServer({ noServer: true });
  https.on('upgrade', (req: IncomingMessage, socket, head) => {
    const auth = String(req.headers.authorization ?? '');
    const thumbprint = peerCertificateThumbprint(req.socket);
    seen.authorization.push(auth);
    seen.urls.push(req.url ?? '');
    seen.wsThumbprints.push(thumbprint);
    const ticket = tickets.get(auth.replace(/^Bearer /, ''));
    if (options.dataPlane === 'reject-401' || !ticket || ticket.thumbprint !== thumbprint) {
      const body = ticket ? 'ticket expired 12 s ago\n' : 'no such ticket, or another client certificate\n';
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (options.dataPlane === 'agent-refused') return ws.close(4003, 'user key not in ticket');
      if (options.dataPlane === 'unpaired-timeout')
        return setTimeout(() => ws.close(4001, 'the agent did not join within 0.1 s'), 100);
      if (options.dataPlane === 'silent-agent') return; // paired, but the agent never speaks
      if (relay.hostileAgent) return relay.hostileAgent(ws);
      relay.dataSockets.push(ws);
      agentSessions.push(
        runFakeAgent(ws, {
          hostKey,
          acceptUserKey: options.acceptUserKey ?? ticket.ukey,
          agentPorts: options.agentPorts ?? ports,
          seen,
          ignoresWindow: options.agentIgnoresWindow ?? false,
          withholdsAcknowledgements: options.agentWithholdsAcknowledgements ?? false,
        }),
      );
    });
  });

  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  const relay: FakeRelay = {
    url,
    pin,
    seen,
    agentSessions,
    dataSockets: [],
    hostileAgent: undefined,
    devices,
    enrollmentCode: (user) => {
      const secret = newSecret();
      codes.set(secret, user);
      return formatOneTimeCode('user', secret, pin);
    },
    totpSecret: (user) => totpSecrets.get(user),
    issueToken: (user, certPem) => issueToken(user, certPem, certThumbprint(certPem)),
    dropSessions: (code, reason) => {
      for (const c of wss.clients) c.close(code, reason);
    },
    close: async () => {
      for (const s of agentSessions) s.dispose();
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => https.close(() => r()));
    },
  };
  return relay;
}

/** A login without the dance: a fresh client certificate and a token bound to it, as `login()` would save. */
export async function fakeCredentials(relay: FakeRelay, user = 'alice'): Promise<RelayCredentials> {
  const cert = await mintClientCertificate({ commonName: user, ttlSeconds: 600 });
  return {
    endpoint: { url: relay.url, pin: relay.pin, clientCert: { certPem: cert.certPem, keyPem: cert.keyPem } },
    user,
    token: relay.issueToken(user, cert.certPem),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  };
}
