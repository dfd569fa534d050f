import { SshChannelOpenFailureReason, type SshChannelOpeningEventArgs } from '@microsoft/dev-tunnels-ssh';
import type { ReceiptAcknowledger } from '@airlock/shared/ssh';
import { BULK_WINDOW_BYTES, DirectTcpipOpenMessage, enforceReceiveWindow } from '@airlock/shared/ssh';
import type { TicketClaims } from '@airlock/shared';
import { checkForward, runForward, type Connector } from './direct-tcpip.js';
import type { ChannelRefusal } from './refusal-reporter.js';
import { SessionChannel, type SessionChannelContext } from './session-channel.js';

export const MAX_CHANNELS_PER_SESSION = 32;
export const DEFAULT_MAX_FORWARDS_PER_SESSION = 1024;
/**
 * How many of a session's open forwards get the bulk window (fast through a distant relay); the
 * rest get a small one. The window is what the client may send before the agent acknowledges,
 * i.e. what the agent may have to hold for a target that does not read: 1024 forwards can then
 * hold 16 × 16 MiB + 1008 × 256 KiB ≈ 0.5 GiB, as much as the 32 bulk channels of any kind a
 * session was limited to before (session channels, at most 32, add their own).
 */
export const BULK_FORWARDS_PER_SESSION = 16;
export const SMALL_FORWARD_WINDOW_BYTES = 256 * 1024;

/** What a session's channels are allowed and given. */
export interface ChannelPolicy extends Omit<SessionChannelContext, 'onRefused'> {
  claims: TicketClaims;
  allowedPorts: number[];
  forwardConnectTimeoutMs: number;
  connector?: Connector;
  /** Session channels (shells, commands, sftp) open at once (default 32); further opens are refused. */
  maxChannels?: number;
  /** Forwarded connections (direct-tcpip) open at once (default 1024); further opens are refused. */
  maxForwards?: number;
}

export interface ChannelAdmissionDeps {
  opts: ChannelPolicy;
  /** Acknowledges what each channel received, so the client can drop what it keeps for a resume. */
  acknowledger: ReceiptAcknowledger;
  /** Reports a refusal (the relay audits it); never throws. */
  refused: (refusal: ChannelRefusal) => void;
  /** The client sent more than a channel's window: the session must end. */
  windowIgnored: (channelType: string, unconsumed: number, window: number) => void;
}

/**
 * Which channels a session opens: session channels (shells, commands, sftp) and forwards the
 * policy and the ticket both allow, each kind up to its limit. Everything else is refused with a
 * reason the client sees and the relay audits.
 */
export class ChannelAdmission {
  private readonly channels = new Set<SessionChannel>();
  private sessionChannels = 0;
  private forwards = 0;
  private bulkForwards = 0;
  private readonly maxChannels: number;
  private readonly maxForwards: number;

  constructor(private readonly deps: ChannelAdmissionDeps) {
    this.maxChannels = deps.opts.maxChannels ?? MAX_CHANNELS_PER_SESSION;
    this.maxForwards = deps.opts.maxForwards ?? DEFAULT_MAX_FORWARDS_PER_SESSION;
  }

  /** The library's channel-opening handler. */
  opening(e: SshChannelOpeningEventArgs): void {
    // Refused unless every check below passes: the library swallows a throwing handler and
    // would otherwise accept the channel (e.g. a direct-tcpip open too short to parse).
    e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
    e.failureDescription = 'channel open refused';
    try {
      this.decide(e);
    } catch (err) {
      e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
      e.failureDescription = 'malformed channel open';
      this.deps.opts.log.warn(
        { channelType: e.request.channelType, err: (err as Error).message },
        'refused channel: malformed open request',
      );
      this.deps.refused({ channel: String(e.request.channelType), reason: 'malformed channel open' });
    }
  }

  /** The session ended: its session channels' processes go with it. */
  terminateAll(): void {
    for (const c of this.channels) c.terminate();
    this.channels.clear();
  }

  private decide(e: SshChannelOpeningEventArgs): void {
    const { opts, refused } = this.deps;
    const { log, claims } = opts;
    const type = e.request.channelType;
    // Before any handler that consumes the channel's data (see enforceReceiveWindow).
    enforceReceiveWindow(e.channel, (unconsumed, window) =>
      this.deps.windowIgnored(type ?? '(none)', unconsumed, window),
    );
    this.deps.acknowledger.watch(e.channel);
    if (type === 'session') {
      if (this.sessionChannels >= this.maxChannels)
        return this.refuseForLimit(
          e,
          `too many open session channels (shells, commands, sftp) on this session`,
          this.maxChannels,
        );
      // Session channels may carry sftp: a large window keeps transfers fast through the relay.
      e.channel.maxWindowSize = BULK_WINDOW_BYTES;
      const sc = new SessionChannel(e.channel, { ...opts, log, onRefused: refused });
      this.channels.add(sc);
      this.sessionChannels++;
      this.accept(e, () => {
        this.sessionChannels--;
        this.channels.delete(sc);
      });
      return;
    }
    if (type === 'direct-tcpip') {
      const m = e.request.convertTo(new DirectTcpipOpenMessage()) as DirectTcpipOpenMessage;
      const decision = checkForward(m.host, m.port, opts.allowedPorts, claims.ports);
      if (!decision.ok) {
        log.warn({ host: m.host, port: m.port }, `refused forward: ${decision.reason}`);
        e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
        e.failureDescription = decision.reason;
        refused({ channel: type, target: `${m.host}:${m.port}`, reason: decision.reason });
        return;
      }
      if (this.forwards >= this.maxForwards)
        return this.refuseForLimit(e, 'too many forwarded connections open on this session', this.maxForwards, m);
      const bulk = this.bulkForwards < BULK_FORWARDS_PER_SESSION;
      e.channel.maxWindowSize = bulk ? BULK_WINDOW_BYTES : SMALL_FORWARD_WINDOW_BYTES;
      // Accepted now; the TCP connect happens in the background (never await in this handler).
      runForward(e.channel, m.port, {
        timeoutMs: opts.forwardConnectTimeoutMs,
        log: log.child({ channel: e.channel.channelId }),
        connector: opts.connector,
        bulk,
      });
      this.forwards++;
      if (bulk) this.bulkForwards++;
      this.accept(e, () => {
        this.forwards--;
        if (bulk) this.bulkForwards--;
      });
      return;
    }
    log.warn({ channelType: type }, 'refused channel type');
    e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
    const reason = `channel type ${type} is not allowed`;
    e.failureDescription = reason;
    refused({ channel: type ?? '(none)', reason });
  }

  /** A limit was hit: `resourceShortage` with the limit in the description (Connect shows it), logged and reported. */
  private refuseForLimit(
    e: SshChannelOpeningEventArgs,
    what: string,
    limit: number,
    target?: DirectTcpipOpenMessage,
  ): void {
    const type = e.request.channelType ?? '(none)';
    const reason = `${what} (limit ${limit})`;
    this.deps.opts.log.warn({ channelType: type, limit }, `refused channel: ${reason}`);
    e.failureReason = SshChannelOpenFailureReason.resourceShortage;
    e.failureDescription = reason;
    this.deps.refused({ channel: type, ...(target ? { target: `${target.host}:${target.port}` } : {}), reason });
  }

  /** Every check passed: clear the default refusal; `onClosed` (once) gives the channel's place back. */
  private accept(e: SshChannelOpeningEventArgs, onClosed: () => void): void {
    e.failureReason = SshChannelOpenFailureReason.none;
    e.failureDescription = null;
    let counted = true;
    e.channel.onClosed(() => {
      if (counted) onClosed();
      counted = false;
    });
  }
}
