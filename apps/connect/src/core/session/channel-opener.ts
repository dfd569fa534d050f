import {
  ChannelOpenMessage,
  ChannelRequestMessage,
  CommandRequestMessage,
  SshChannelError,
  SshChannelOpenFailureReason,
  type SshChannel,
  type SshClientSession,
} from '@microsoft/dev-tunnels-ssh';
import { err, ok, type Result } from '@airlock/shared';
import {
  BULK_WINDOW_BYTES,
  directTcpipOpen,
  enforceReceiveWindow,
  limitUnacknowledged,
  MAX_UNACKNOWLEDGED_BYTES,
  SHELL_MAX_PACKET_BYTES,
  ptyRequest,
  ReceiptAcknowledger,
  subsystemRequest,
  windowChange,
} from '@airlock/shared/ssh';
import { channelStreams, refusalExplanation, type ChannelStreams } from './channel-streams.js';
import type { Logger } from '../logger.js';
import type { ChannelError, ExecChannel, ShellChannel, ShellOptions, SubsystemChannel } from './types.js';

const SessionChannelType = 'session';

/** The session the channels belong to, as the errors name it. */
export interface ChannelTarget {
  readonly sessionId: string;
  readonly vm: string;
  /** Ports the ticket allows forwarding to. */
  readonly ports: readonly number[];
}

/**
 * Opens channels on an authenticated SSH session to a VM's agent — shell, exec, subsystem and
 * direct-tcpip — and turns the agent's refusals into typed errors.
 */
export class ChannelOpener {
  /** The agent ends a session that acknowledges too little (see ReceiptAcknowledger). */
  private readonly acknowledger: ReceiptAcknowledger;

  constructor(
    private readonly client: SshClientSession,
    private readonly target: ChannelTarget,
    private readonly log: Logger,
    /** The `session_closed` error once the session is closed; undefined while it is open. */
    private readonly closedError: () => ChannelError | undefined,
    /**
     * The agent broke the protocol's bounds (sent a channel more than its window, or stopped
     * acknowledging what it received): the session must end, saying why.
     */
    private readonly onAgentUnbounded: (detail: string) => void,
  ) {
    this.acknowledger = new ReceiptAcknowledger(client);
    // What Connect sends is kept until the agent acknowledges it; a hostile agent that granted
    // window and never acknowledged could otherwise fill Connect's memory with an upload.
    limitUnacknowledged(client, MAX_UNACKNOWLEDGED_BYTES, (kept) => {
      this.log.warn({ unacknowledged: kept }, 'the agent stopped acknowledging what it received');
      this.onAgentUnbounded(`the agent stopped acknowledging what it received (${kept} bytes kept for resending)`);
    });
  }

  /** Before the caller's handlers see the channel's data (see enforceReceiveWindow). */
  private guarded(channel: SshChannel): SshChannel {
    this.acknowledger.watch(channel);
    enforceReceiveWindow(channel, (unconsumed, window) => {
      this.log.warn({ channel: channel.channelId, unconsumed, window }, 'the agent ignored the channel window');
      this.onAgentUnbounded(`the agent sent ${unconsumed} bytes unread on a channel with a ${window}-byte window`);
    });
    return channel;
  }

  async openShell(options: ShellOptions = {}): Promise<Result<ShellChannel, ChannelError>> {
    const opened = await this.openSessionChannel({ maxPacketBytes: SHELL_MAX_PACKET_BYTES });
    if (!opened.ok) return opened;
    const channel = opened.value;
    const streams = channelStreams(channel);
    const pty = options.pty ?? true;
    if (pty) {
      const r = await this.request(
        channel,
        streams,
        ptyRequest({ term: options.term ?? 'xterm-256color', cols: options.cols ?? 80, rows: options.rows ?? 24 }),
        'a terminal (pty-req)',
      );
      if (!r.ok) return r;
    }
    const r = await this.request(channel, streams, new ChannelRequestMessage('shell', true), 'a shell');
    if (!r.ok) return r;
    this.log.debug({ channel: channel.channelId, pty }, 'shell open');
    const resize = (cols: number, rows: number) => {
      if (!pty || channel.isClosed) return;
      channel.request(windowChange(cols, rows)).catch(() => {});
    };
    return ok({ resize, ...streams });
  }

  async exec(command: string): Promise<Result<ExecChannel, ChannelError>> {
    const opened = await this.openSessionChannel();
    if (!opened.ok) return opened;
    const channel = opened.value;
    const streams = channelStreams(channel);
    const message = new CommandRequestMessage();
    message.command = command;
    message.wantReply = true;
    const r = await this.request(channel, streams, message, 'the command');
    if (!r.ok) return r;
    this.log.debug({ channel: channel.channelId }, 'exec started');
    return ok({ ...streams });
  }

  async openSubsystem(name: string): Promise<Result<SubsystemChannel, ChannelError>> {
    const opened = await this.openSessionChannel({ maxWindowBytes: BULK_WINDOW_BYTES });
    if (!opened.ok) return opened;
    const channel = opened.value;
    const streams = channelStreams(channel);
    const r = await this.request(channel, streams, subsystemRequest(name), `the ${name} subsystem`);
    if (!r.ok) return r;
    this.log.debug({ channel: channel.channelId, subsystem: name }, 'subsystem open');
    return ok({ ...streams });
  }

  /**
   * A port outside the ticket is still asked for: the agent refuses it and reports the refusal to
   * the relay's audit log, which a refusal made here alone would never reach. Connect refuses it
   * as well, whatever the agent answers.
   */
  async openDirectTcpip(port: number): Promise<Result<SshChannel, ChannelError>> {
    const { sessionId, vm, ports } = this.target;
    const closed = this.closedError();
    if (closed) return err(closed);
    const granted = ports.includes(port);
    try {
      const channel = this.guarded(
        await this.client.openChannel(directTcpipOpen({ host: '127.0.0.1', port, maxWindowSize: BULK_WINDOW_BYTES })),
      );
      if (!granted) {
        void channel.close().catch(() => {});
        return err(portNotAllowed(sessionId, vm, port, ports));
      }
      this.log.debug({ channel: channel.channelId, port }, 'direct-tcpip open');
      return ok(channel);
    } catch (e) {
      const error = granted ? this.channelOpenError(e, port) : portNotAllowed(sessionId, vm, port, ports);
      this.log.info({ port, code: error.code }, error.message);
      return err(error);
    }
  }

  /**
   * A session channel. `maxPacketBytes`: the largest packet the agent may send on it;
   * `maxWindowBytes`: how much it may send before Connect has taken it in (library defaults otherwise).
   */
  private async openSessionChannel(
    o: { maxPacketBytes?: number; maxWindowBytes?: number } = {},
  ): Promise<Result<SshChannel, ChannelError>> {
    const closed = this.closedError();
    if (closed) return err(closed);
    const open = new ChannelOpenMessage();
    open.channelType = SessionChannelType;
    if (o.maxPacketBytes !== undefined) open.maxPacketSize = o.maxPacketBytes;
    if (o.maxWindowBytes !== undefined) open.maxWindowSize = o.maxWindowBytes;
    try {
      return ok(this.guarded(await this.client.openChannel(open)));
    } catch (e) {
      return err(this.channelOpenError(e));
    }
  }

  private channelOpenError(e: unknown, port?: number): ChannelError {
    const { sessionId, vm, ports } = this.target;
    if (e instanceof SshChannelError) {
      const description = e.message;
      if (port !== undefined && e.reason === SshChannelOpenFailureReason.administrativelyProhibited)
        return {
          code: 'port_not_allowed',
          sessionId,
          port,
          allowed: [...ports],
          message: `the agent refused port ${port}: ${description}`,
        };
      if (e.reason === SshChannelOpenFailureReason.resourceShortage)
        return {
          code: 'channel_limit',
          sessionId,
          message: `the agent of ${vm} refused ${port === undefined ? 'the channel' : 'the connection'}: ${description}`,
        };
      if (port !== undefined && e.reason === SshChannelOpenFailureReason.connectFailed)
        return {
          code: 'port_unreachable',
          sessionId,
          port,
          message: `nothing answered on port ${port} inside ${vm}: ${description}`,
        };
      return { code: 'channel_refused', sessionId, message: `the agent refused the channel: ${description}` };
    }
    return this.closedError() ?? { code: 'channel_refused', sessionId, message: (e as Error).message };
  }

  /**
   * Sends a channel request that wants a reply; on refusal or failure closes the channel. A
   * refusal carries the agent's explanation when it sent one on stderr right after it.
   */
  private async request(
    channel: SshChannel,
    streams: ChannelStreams,
    message: ChannelRequestMessage,
    what: string,
  ): Promise<Result<void, ChannelError>> {
    const { sessionId } = this.target;
    try {
      if (await channel.request(message)) return ok(undefined);
      const agentSays = await refusalExplanation(streams);
      void channel.close().catch(() => {});
      return err({
        code: 'request_refused',
        sessionId,
        request: what,
        message: `the agent refused ${what}${agentSays ? `: ${agentSays}` : ''}`,
        ...(agentSays ? { agentSays } : {}),
      });
    } catch (e) {
      void channel.close().catch(() => {});
      const closed = this.closedError();
      if (closed) return err(closed);
      return err({
        code: 'request_refused',
        sessionId,
        request: what,
        message: `${what} failed: ${(e as Error).message}`,
      });
    }
  }
}

export function portNotAllowed(sessionId: string, vm: string, port: number, allowed: readonly number[]): ChannelError {
  return {
    code: 'port_not_allowed',
    sessionId,
    port,
    allowed: [...allowed],
    message:
      `port ${port} on ${vm} is not allowed for you` +
      (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (no ports are allowed on this VM)'),
  };
}

/** What the user sees when the agent could not connect to the forwarded port inside the VM. */
export function portUnreachable(
  sessionId: string,
  vm: string,
  port: number,
  code: string,
): Extract<ChannelError, { code: 'port_unreachable' }> {
  const why =
    code === 'ECONNREFUSED'
      ? `nothing is listening on port ${port} in ${vm} (connection refused)`
      : code === 'ETIMEDOUT'
        ? `port ${port} in ${vm} did not answer in time (connection timed out)`
        : `could not connect to port ${port} in ${vm} (${code})`;
  return { code: 'port_unreachable', sessionId, port, message: why };
}
