import { connect } from 'node:net';
import type { SshServerSession } from '@microsoft/dev-tunnels-ssh';
import {
  CommandRequestMessage,
  SshAuthenticationType,
  SshChannelOpenFailureReason,
  type KeyPair,
  type SshChannel,
} from '@microsoft/dev-tunnels-ssh';
import type { WebSocket } from 'ws';
import { CloseCode, sshFingerprint } from '@airlock/shared';
import {
  BULK_WINDOW_BYTES,
  bridgeChannel,
  clearKeepAliveTimer,
  closeForwardConnectFailed,
  createServerSession,
  DirectTcpipOpenMessage,
  PtyRequestMessage,
  publicKeyBlob,
  ReceiptAcknowledger,
  startSshSession,
  SubsystemRequestMessage,
  webSocketSshStream,
  WindowChangeMessage,
} from '@airlock/shared/ssh';
import { withholdAcknowledgements } from '@airlock/shared/testing';

export interface FakeAgentOptions {
  hostKey: KeyPair;
  /** SSH fingerprint of the one user key accepted; undefined accepts any. */
  acceptUserKey: string | undefined;
  agentPorts: number[];
  /** Sends as if every channel's window were endless (a hostile VM side). */
  ignoresWindow?: boolean;
  /** Takes what Connect sends and never acknowledges it (a hostile VM side). */
  withholdsAcknowledgements?: boolean;
  /** What the agent saw on session channels, by kind. */
  seen: { requests: string[]; windowChanges: Array<[number, number]> };
}

/**
 * Runs the agent's SSH server side on `ws`: accepts only the user key `acceptUserKey` (SSH
 * fingerprint; undefined accepts any), exec (a few canned commands), pty-req/shell/window-change,
 * the sftp subsystem (an echo), and direct-tcpip to `agentPorts` on 127.0.0.1.
 */
export function runFakeAgent(ws: WebSocket, options: FakeAgentOptions): SshServerSession {
  const { hostKey, agentPorts, seen } = options;
  const server = createServerSession();
  server.credentials = { publicKeys: [hostKey] };
  // As the agent does: acknowledge what Connect sends.
  const acknowledger = new ReceiptAcknowledger(server);
  server.onClosed(() => clearKeepAliveTimer(server));
  server.onAuthenticating((e) => {
    if (
      e.authenticationType !== SshAuthenticationType.clientPublicKey &&
      e.authenticationType !== SshAuthenticationType.clientPublicKeyQuery
    )
      return;
    const key = e.publicKey;
    if (!key) return;
    e.authenticationPromise = publicKeyBlob(key).then((blob) =>
      !options.acceptUserKey || sshFingerprint(blob) === options.acceptUserKey ? { user: e.username } : null,
    );
  });
  server.onChannelOpening((e) => {
    if (!options.withholdsAcknowledgements) acknowledger.watch(e.channel);
    // The library's sender honours the window it was given; a hostile one does not.
    if (options.ignoresWindow) (e.channel as unknown as { remoteWindowSize: number }).remoteWindowSize = 1e13;
    if (e.request.channelType === 'session') {
      setupSessionChannel(e.channel, ws, seen);
      return;
    }
    if (e.request.channelType === 'direct-tcpip') {
      const open = e.request.convertTo(new DirectTcpipOpenMessage());
      seen.requests.push(`direct-tcpip:${open.port}`);
      if (open.host !== '127.0.0.1' || !agentPorts.includes(open.port)) {
        e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
        e.failureDescription = `port ${open.port} is not allowed by the agent policy`;
        return;
      }
      e.channel.maxWindowSize = BULK_WINDOW_BYTES;
      const channel = e.channel;
      const sock = connect({ host: '127.0.0.1', port: open.port, allowHalfOpen: true });
      // As the real agent does: a target that cannot be reached closes the channel saying why.
      // (Registered before the bridge's own handler, so its signal goes out first.)
      let connected = false;
      sock.once('connect', () => (connected = true));
      sock.once('error', (err: NodeJS.ErrnoException) => {
        if (!connected) void closeForwardConnectFailed(channel, err.code ?? 'EUNKNOWN').catch(() => {});
      });
      bridgeChannel(channel, sock);
      return;
    }
    e.failureReason = SshChannelOpenFailureReason.unknownChannelType;
  });
  void startSshSession(server, webSocketSshStream(ws)).then((r) => {
    if (r.ok && options.withholdsAcknowledgements) withholdAcknowledgements(server);
  });
  return server;
}

function setupSessionChannel(channel: SshChannel, ws: WebSocket, seen: FakeAgentOptions['seen']): void {
  let pty = false;
  channel.onRequest((e) => {
    const type = e.requestType;
    seen.requests.push(type);
    if (type === 'pty-req') {
      const m = e.request.convertTo(new PtyRequestMessage());
      seen.windowChanges.push([m.cols, m.rows]);
      pty = true;
      e.isAuthorized = true;
    } else if (type === 'window-change') {
      const m = e.request.convertTo(new WindowChangeMessage());
      seen.windowChanges.push([m.cols, m.rows]);
      e.isAuthorized = true;
    } else if (type === 'shell') {
      e.isAuthorized = true;
      setImmediate(() => runShell(channel, pty));
    } else if (type === 'exec') {
      const command = e.request.convertTo(new CommandRequestMessage()).command ?? '';
      e.isAuthorized = true;
      setImmediate(() => runExec(channel, command, ws));
    } else if (type === 'subsystem') {
      const name = e.request.convertTo(new SubsystemRequestMessage()).subsystem;
      seen.requests.push(`subsystem:${name}`);
      e.isAuthorized = name === 'sftp';
      if (e.isAuthorized) setImmediate(() => runEcho(channel, 0));
      // As the real agent does when a subsystem cannot start: refuse, say why on stderr, close.
      // (With a terminal escape and a second line, which Connect must not pass on.)
      else
        setImmediate(() => {
          const why = `airlock-agent: no ${name} here \u001b[2J(looked everywhere)\nsecond line\n`;
          void channel.sendExtendedData(1, Buffer.from(why)).then(() => channel.close().catch(() => {}));
        });
    } else {
      e.isAuthorized = false;
    }
  });
}

/** Echoes input; on EOF answers with EOF and exit status. */
function runEcho(channel: SshChannel, status: number, prefix = ''): void {
  if (prefix) void channel.send(Buffer.from(prefix));
  channel.onDataReceived((d) => {
    const copy = Buffer.from(d);
    channel.adjustWindow(d.length);
    void channel.send(copy);
  });
  channel.onEof(() => void finish(channel, status));
}

/** A line-oriented toy shell: `exit N` ends with status N, anything else is echoed back. */
function runShell(channel: SshChannel, pty: boolean): void {
  void channel.send(Buffer.from(pty ? 'pty$ ' : '$ '));
  let buf = '';
  channel.onDataReceived((d) => {
    buf += Buffer.from(d).toString();
    channel.adjustWindow(d.length);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      const m = /^exit (\d+)$/.exec(line);
      if (m) return void finish(channel, Number(m[1]));
      void channel.send(Buffer.from(`you said: ${line}\n`));
    }
  });
  channel.onEof(() => void finish(channel, 0));
}

function runExec(channel: SshChannel, command: string, ws: WebSocket): void {
  if (command === 'cat') return runEcho(channel, 0);
  if (command === 'drop') {
    // The path dies mid-command, as when the relay or the VM goes away.
    void channel
      .send(Buffer.from('partial\n'))
      .then(() => setTimeout(() => ws.close(CloseCode.peerClosed, 'agent went away'), 50));
    return;
  }
  if (command.startsWith('fail ')) {
    const status = Number(command.slice(5));
    void (async () => {
      await channel.send(Buffer.from('to stdout\n'));
      await channel.sendExtendedData(1, Buffer.from('to stderr\n'));
      await finish(channel, status);
    })();
    return;
  }
  void (async () => {
    await channel.send(Buffer.from(`ran: ${command}\n`));
    await finish(channel, 0);
  })();
}

const finished = new WeakSet<SshChannel>();
async function finish(channel: SshChannel, status: number): Promise<void> {
  if (finished.has(channel)) return;
  finished.add(channel);
  try {
    await channel.send(Buffer.alloc(0));
    await channel.close(status);
  } catch {
    // the client went away first
  }
}
