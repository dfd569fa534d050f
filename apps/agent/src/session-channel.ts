import { accessSync, constants as fsConstants } from 'node:fs';
import {
  ChannelRequestMessage,
  CommandRequestMessage,
  type SshChannel,
  type SshDataReader,
  type SshRequestEventArgs,
} from '@microsoft/dev-tunnels-ssh';
import { ownedChannelData, PtyRequestMessage, SubsystemRequestMessage, WindowChangeMessage } from '@airlock/shared/ssh';
import type { Logger } from 'pino';
import { ChannelOutput } from './channel-output.js';
import type { OsUser } from './os-user.js';
import { checkPtySize, checkTerm, DEFAULT_PTY_SIZE } from './pty-size.js';
import type { ChannelRefusal } from './refusal-reporter.js';
import { spawnPiped, spawnPty, type ProcessExit, type SpawnSpec, type UserProcess } from './processes.js';

export interface SessionChannelContext {
  sid: string;
  log: Logger;
  user: OsUser;
  shell: string;
  sftpServerPath: string;
  /** Told of refused requests the audit log should show (subsystems, absurd terminal sizes); never throws. */
  onRefused?: (refusal: ChannelRefusal) => void;
}

/** RFC 4254 §6.9 `signal` request (the library does not export its own class for it). */
class SignalRequestMessage extends ChannelRequestMessage {
  signal = '';

  protected override onRead(reader: SshDataReader): void {
    super.onRead(reader);
    this.signal = reader.readString('ascii');
  }
}

/** Client input held for a channel whose process has not started yet. */
export const MAX_PENDING_INPUT_BYTES = 1024 * 1024;

/** OpenSSH, too, runs one shell, command or subsystem per session channel. */
const ALREADY_RUNNING = 'a process already runs on this channel (one shell, command or subsystem per channel)';

const FORWARDABLE_SIGNALS = new Set(['HUP', 'INT', 'KILL', 'QUIT', 'TERM', 'USR1', 'USR2', 'ALRM']);

/**
 * One SSH "session" channel: pty-req, shell, exec, subsystem sftp, window-change, signal.
 * Request handlers are synchronous and quick; the process runs beside the session loop.
 */
export class SessionChannel {
  private pty: { term: string; cols: number; rows: number } | undefined;
  private proc: UserProcess | undefined;
  private readonly output: ChannelOutput;
  private pendingInput: Buffer[] = [];
  private pendingBytes = 0;
  private inputEof = false;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly channel: SshChannel,
    private readonly ctx: SessionChannelContext,
  ) {
    this.log = ctx.log.child({ channel: channel.channelId });
    this.output = new ChannelOutput(channel, (pause) => this.proc?.setPaused(pause));
    channel.onRequest((e) => this.onRequest(e));
    channel.onDataReceived((data) => this.onData(data));
    channel.onEof(() => {
      this.inputEof = true;
      if (this.proc && this.pendingInput.length === 0) this.proc.endInput();
    });
    channel.onClosed(() => this.onClosed());
  }

  /** Ends the process (session closing, agent stopping). */
  terminate(): void {
    this.onClosed();
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    if (!this.proc) {
      // Held until a process exists; the window is not adjusted, but a session channel's window
      // is large, so the amount held is capped too.
      this.pendingBytes += data.length;
      if (this.pendingBytes > MAX_PENDING_INPUT_BYTES) {
        this.pendingInput = [];
        this.closed = true;
        const msg = `more than ${MAX_PENDING_INPUT_BYTES} bytes of input before a process started`;
        this.log.warn({ limit: MAX_PENDING_INPUT_BYTES }, `closing channel: ${msg}`);
        this.output.write(Buffer.from(`airlock-agent: ${msg}\n`), true);
        void this.output.flushed().then(() => this.channel.close().catch(() => {}));
        return;
      }
      this.pendingInput.push(ownedChannelData(data));
      return;
    }
    const n = data.length;
    this.proc.write(data, () => this.channel.adjustWindow(n));
  }

  private onRequest(e: SshRequestEventArgs<ChannelRequestMessage>): void {
    try {
      e.isAuthorized = this.handle(e);
    } catch (err) {
      this.log.warn({ request: e.requestType, err: (err as Error).message }, 'channel request failed');
      e.isAuthorized = false;
    }
  }

  private handle(e: SshRequestEventArgs<ChannelRequestMessage>): boolean {
    switch (e.requestType) {
      case 'pty-req': {
        if (this.proc) return this.refuse('pty-req', ALREADY_RUNNING);
        const m = e.request.convertTo(new PtyRequestMessage()) as PtyRequestMessage;
        const size = checkPtySize(m.cols, m.rows);
        if (!size.ok) return this.refuse('pty-req', size.error);
        const term = checkTerm(m.term);
        if (!term.ok) return this.refuse('pty-req', term.error);
        this.pty = { term: term.value, ...(size.value ?? DEFAULT_PTY_SIZE) };
        return true;
      }
      case 'window-change': {
        const m = e.request.convertTo(new WindowChangeMessage()) as WindowChangeMessage;
        const size = checkPtySize(m.cols, m.rows);
        // The terminal keeps its size; window-change wants no reply, so the log and audit say it.
        if (!size.ok) return this.refuse('window-change', size.error);
        if (!size.value) return true; // no size given: nothing to change
        if (this.pty) Object.assign(this.pty, size.value);
        this.proc?.resize(size.value.cols, size.value.rows);
        return true;
      }
      case 'shell':
        return this.start('shell', this.ctx.shell, ['-l']);
      case 'exec': {
        const m = e.request.convertTo(new CommandRequestMessage()) as CommandRequestMessage;
        return this.start('exec', this.ctx.shell, ['-c', m.command ?? '']);
      }
      case 'subsystem': {
        const m = e.request.convertTo(new SubsystemRequestMessage()) as SubsystemRequestMessage;
        if (m.subsystem !== 'sftp') {
          const name = JSON.stringify(m.subsystem.slice(0, 32));
          return this.refuse(`subsystem ${name}`, `subsystem ${name} is not offered (only sftp)`);
        }
        return this.startSftp();
      }
      case 'signal': {
        const m = e.request.convertTo(new SignalRequestMessage()) as SignalRequestMessage;
        const sig = m.signal.replace(/^SIG/, '');
        const what = `signal ${JSON.stringify(sig.slice(0, 16))}`;
        if (!FORWARDABLE_SIGNALS.has(sig))
          return this.refuse(what, `${what} is not passed on (only ${[...FORWARDABLE_SIGNALS].join(', ')})`);
        // Not audited: a Ctrl-C that crosses the process's exit is no one's attempt at anything.
        if (!this.proc) return false;
        this.proc.signal(`SIG${sig}` as NodeJS.Signals);
        return true;
      }
      case 'env':
        return this.refuse(
          'env',
          "environment variables are not taken from the client (the session's environment is set by the agent)",
        );
      case 'x11-req':
        return this.refuse('x11-req', 'X11 forwarding is not offered');
      case 'auth-agent-req@openssh.com':
        return this.refuse('auth-agent-req@openssh.com', 'SSH agent forwarding is not offered');
      default: {
        const name = JSON.stringify(String(e.requestType).slice(0, 40));
        return this.refuse(`request ${name}`, `channel request ${name} is not offered`);
      }
    }
  }

  private startSftp(): boolean {
    if (this.proc) return this.refuse('subsystem "sftp"', ALREADY_RUNNING);
    const path = this.ctx.sftpServerPath;
    try {
      accessSync(path, fsConstants.X_OK);
    } catch {
      const reason = `no sftp-server on this VM (looked for ${path})`;
      // The failure reply goes out first (this handler holds the channel's send lock); the
      // explanation follows on stderr, which Connect shows, then the channel closes.
      const fix = 'install openssh-sftp-server or set sftpServerPath';
      this.output.write(Buffer.from(`airlock-agent: no sftp-server on this VM (looked for ${path}; ${fix})\n`), true);
      void this.output.flushed().then(() => this.channel.close().catch(() => {}));
      return this.refuse('subsystem "sftp"', reason);
    }
    // sftp-server runs without a shell in between, like OpenSSH's internal subsystem exec.
    return this.start('sftp', path, [], false);
  }

  /** Refuses a request with a logged reason that also goes to the relay's audit log. */
  private refuse(request: string, reason: string): false {
    this.log.warn({ request }, `refused ${request}: ${reason}`);
    this.ctx.onRefused?.({ channel: 'session', target: request, reason });
    return false;
  }

  private start(kind: string, file: string, args: string[], allowPty = true): boolean {
    if (this.closed) return false;
    if (this.proc) return this.refuse(kind, ALREADY_RUNNING);
    const spec: SpawnSpec = {
      user: this.ctx.user,
      shell: this.ctx.shell,
      file,
      args,
      env: { AIRLOCK_SESSION_ID: this.ctx.sid },
    };
    const sinks = {
      stdout: (d: Buffer) => this.output.write(d),
      stderr: (d: Buffer) => this.output.write(d, true),
      exit: (x: ProcessExit) => void this.onExit(kind, x),
    };
    const withPty = allowPty && this.pty !== undefined;
    this.proc = withPty ? spawnPty(spec, this.pty!, sinks) : spawnPiped(spec, sinks);
    this.log.info({ kind, pty: withPty, pid: this.proc.pid, user: this.ctx.user.name }, 'process started');
    const held = this.pendingInput;
    this.pendingInput = [];
    this.pendingBytes = 0;
    for (const d of held) this.onData(d);
    if (this.inputEof) this.proc.endInput();
    return true;
  }

  private async onExit(kind: string, exit: ProcessExit): Promise<void> {
    this.log.info({ kind, ...exit }, 'process exited');
    await this.output.flushed();
    if (this.closed || this.channel.isClosed) return;
    this.closed = true;
    try {
      await this.channel.send(Buffer.alloc(0)); // EOF after the last byte of output
      if (exit.signal) await this.channel.close(exit.signal, '');
      else await this.channel.close(exit.code ?? 0);
    } catch {
      // The client closed first.
    }
  }

  private onClosed(): void {
    this.closed = true;
    this.output.abort();
    this.proc?.hangup();
  }
}
