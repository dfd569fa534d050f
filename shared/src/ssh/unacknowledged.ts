import { SshChannel, SshMessage, type SshSession } from '@microsoft/dev-tunnels-ssh';

/**
 * Session resume keeps every message a side sends until the peer acknowledges it; every message
 * carries the sequence number of the last one its sender received, and that is the only
 * acknowledgement. A receiver that sends nothing acknowledges nothing: Connect, downloading on
 * many channels, used to send only window adjustments, one per half window per channel (16 bulk
 * channels started together: up to 128 MiB unacknowledged). Both sides therefore acknowledge on
 * their own every `ACKNOWLEDGE_EVERY_BYTES`, and each can bound what it keeps for the other.
 */
export const ACKNOWLEDGE_EVERY_BYTES = 1024 * 1024;

/**
 * What a side keeps unacknowledged before it ends the session. With an honest peer it stays near
 * `ACKNOWLEDGE_EVERY_BYTES` plus what is in flight between them, which socket buffers on both
 * hops and the relay's bound: at most 16.5 MB was measured in a 200 MB forward at full speed
 * through the relay on 127.0.0.1 (the README's design notes). A peer past this bound does not
 * acknowledge; without it, it could grow the other side's memory without limit by granting
 * window after window. As much as 8 bulk channel windows already let a peer make the agent hold.
 */
export const MAX_UNACKNOWLEDGED_BYTES = 128 * 1024 * 1024;

/** SSH_MSG_IGNORE (RFC 4253 §11.2), written as the library writes it: no body of its own. */
class AcknowledgementMessage extends SshMessage {
  override get messageType(): number {
    return 2;
  }
  protected override onRead(): void {}
  protected override onWrite(): void {}
}

/** The library's SshProtocol, as far as Airlock's patch of it (level 3) adds to it. */
interface KeepingProtocol {
  airlockKeptBytes?: number;
}

/**
 * The library's SshSession, as far as our patch of it (level 4) counts the messages it holds
 * unsent: those a key exchange holds back, and those a drop set aside until the resume. A count
 * kept as they come and go: summing them on every send was quadratic in a peer's stalled key
 * exchange (80 000 small messages: ~10 s of CPU).
 */
interface HoldingSession {
  protocol?: KeepingProtocol;
  airlockUnsentBytes?: number;
}

const PATCH_LEVEL = (SshChannel as unknown as { airlockPatchLevel?: number }).airlockPatchLevel ?? 0;

/**
 * Bytes the session holds for the peer and the peer has not acknowledged: messages sent and kept
 * for a resume (the current connection's count, or the last one's while disconnected), and
 * messages not sent yet because a key exchange or a drop holds them back. The second part counts
 * because a peer that starts a key exchange and never finishes it holds every later message back
 * while it goes on granting window.
 */
export function unacknowledgedBytes(session: SshSession): number {
  const s = session as unknown as HoldingSession;
  return (s.protocol?.airlockKeptBytes ?? 0) + (s.airlockUnsentBytes ?? 0);
}

/**
 * Calls `onExceeded` (once) when, after a send (or a send held back), the session holds more than
 * `maxBytes` unacknowledged (see unacknowledgedBytes). Checked on send because a peer that granted
 * a large window once can make this side send for a long time without sending anything itself.
 */
export function limitUnacknowledged(session: SshSession, maxBytes: number, onExceeded: (kept: number) => void): void {
  if (PATCH_LEVEL < 4) {
    throw new Error('@microsoft/dev-tunnels-ssh is not patched (level 4): run npm install to apply patches/');
  }
  let exceeded = false;
  const send = session.sendMessage.bind(session);
  session.sendMessage = async (...args: Parameters<SshSession['sendMessage']>) => {
    await send(...args);
    if (exceeded) return;
    const kept = unacknowledgedBytes(session);
    if (kept <= maxBytes) return;
    exceeded = true;
    onExceeded(kept);
  };
}

/**
 * Acknowledges received data at least every `everyBytes` (see ACKNOWLEDGE_EVERY_BYTES): when that
 * much has arrived and the session sent nothing meanwhile (whatever it sends acknowledges), it
 * sends an SSH_MSG_IGNORE. What the peer keeps for this side is then at most about twice
 * `everyBytes` plus what is in flight. Feed it every channel's received data.
 */
export class ReceiptAcknowledger {
  private received = 0;
  private sentAtLastCheck: number;

  constructor(
    private readonly session: SshSession,
    private readonly everyBytes = ACKNOWLEDGE_EVERY_BYTES,
  ) {
    this.sentAtLastCheck = session.metrics.messagesSent;
  }

  /** Counts `bytes` of channel data just received. */
  count(bytes: number): void {
    this.received += bytes;
    if (this.received < this.everyBytes) return;
    this.received = 0;
    const sent = this.session.metrics.messagesSent;
    if (sent !== this.sentAtLastCheck) {
      this.sentAtLastCheck = sent;
      return;
    }
    if (!this.session.isConnected) return;
    // Counted once it is sent: not taken for a message of the session's own at the next check.
    this.sentAtLastCheck = sent + 1;
    this.session.sendMessage(new AcknowledgementMessage()).catch(() => {
      // The connection is gone: the resume that follows acknowledges instead.
    });
  }

  /** Counts every data message `channel` receives. */
  watch(channel: SshChannel): void {
    channel.onDataReceived((data) => this.count(data.length));
    channel.onExtendedDataReceived((e) => this.count(e.data.length));
  }
}
