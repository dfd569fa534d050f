// Bench child for "the same without the relay": a WebSocket server whose /ws/connect hands the
// socket straight to the agent's own SSH session code — no relay hop, same SSH and channel path.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { AgentSshSession, resolveOsUser } from '@airlock/agent';
import type { TicketClaims } from '@airlock/shared';
import { generateHostKey, publicKeyBlob, webSocketSshStream } from '@airlock/shared/ssh';

const [userFingerprint, portsArg] = process.argv.slice(2);
if (!userFingerprint || !portsArg) throw new Error('usage: direct-agent-process.ts <user key fingerprint> <ports>');
const ports = portsArg.split(',').map(Number);
const hostKey = await generateHostKey();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
await once(wss, 'listening');
const log = pino({ level: 'warn' });
wss.on('connection', (ws, req) => {
  const sid = new URL(req.url ?? '/', 'http://x').searchParams.get('sid') ?? 'direct';
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
  void session.connect(stream).catch(() => {});
});
const port = (wss.address() as AddressInfo).port;
process.stdout.write(
  JSON.stringify({ url: `http://127.0.0.1:${port}`, hostKey: (await publicKeyBlob(hostKey)).toString('base64') }) +
    '\n',
);
process.on('SIGTERM', () => process.exit(0));
