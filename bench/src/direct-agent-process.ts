// Bench child for "the same without the relay": a WebSocket server over TLS (a freshly minted
// certificate, pinned by the client like the relay's) whose /ws/connect hands the socket straight
// to the agent's own SSH session code — no relay hop, same TLS, SSH and channel path.
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { AgentSshSession, resolveOsUser } from '@airlock/agent';
import { mintServerCertificate, spkiPin, type TicketClaims } from '@airlock/shared';
import { generateHostKey, publicKeyBlob, webSocketSshStream } from '@airlock/shared/ssh';

const [userFingerprint, portsArg] = process.argv.slice(2);
if (!userFingerprint || !portsArg) throw new Error('usage: direct-agent-process.ts <user key fingerprint> <ports>');
const ports = portsArg.split(',').map(Number);
const hostKey = await generateHostKey();
// The relay's kind of certificate (ECDSA P-256 since stop 20), so both paths pay for the same TLS.
const cert = await mintServerCertificate({ commonName: 'airlock-bench-direct', ipAddresses: ['127.0.0.1'] });
const server = createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.2' });
const wss = new WebSocketServer({ server, perMessageDeflate: false });
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const log = pino({ level: 'warn' });
wss.on('connection', (ws, req) => {
  const sid = new URL(req.url ?? '/', 'https://x').searchParams.get('sid') ?? 'direct';
  const claims: TicketClaims = { sub: 'bench', sid, vm: 'bench-vm', ukey: userFingerprint, ports, iat: 0, exp: 0 };
  const stream = webSocketSshStream(ws);
  const session = new AgentSshSession({
    sid,
    claims,
    hostKey,
    log,
    user: resolveOsUser(undefined),
    shell: '/bin/sh',
    sftpServerPath: '/usr/lib/openssh/sftp-server',
    allowedPorts: ports,
    forwardConnectTimeoutMs: 3000,
    authTimeoutMs: 15000,
  });
  void session.start(stream);
});
const port = (server.address() as AddressInfo).port;
process.stdout.write(
  JSON.stringify({
    url: `https://127.0.0.1:${port}`,
    pin: spkiPin(cert.certPem),
    hostKey: (await publicKeyBlob(hostKey)).toString('base64'),
  }) + '\n',
);
process.on('SIGTERM', () => process.exit(0));
