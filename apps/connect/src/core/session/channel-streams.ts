import { Readable, Writable } from 'node:stream';
import type { SshChannel } from '@microsoft/dev-tunnels-ssh';
import { printableText } from '@airlock/shared';
import { ownedChannelData } from '@airlock/shared/ssh';

/** How a remote command or shell ended. */
export interface ExitInfo {
  /** The remote exit status, when the agent sent one. */
  exitStatus?: number;
  /** The signal that killed the remote process (e.g. `TERM`, no `SIG` prefix), when it was one. */
  exitSignal?: string;
  errorMessage?: string;
  /** Set when the channel ended because the session failed. */
  error?: Error;
}

/** A session channel (shell, exec, subsystem) as Node streams, with flow control both ways. */
export interface ChannelStreams {
  /** Channel data. Consume it (pipe or 'data'), or the channel window stalls. */
  stdout: Readable;
  /** Extended data type 1 (stderr). Without a pty the agent sends stderr here; consume it too. */
  stderr: Readable;
  /** Written bytes go to the remote; `end()` sends EOF (the remote sees end of input). */
  stdin: Writable;
  exit: Promise<ExitInfo>;
}

const STDERR = 1;

/**
 * Wraps a channel as streams. Call it right after the channel opens and before any request
 * (`shell`, `exec`, `subsystem`): data that arrives with no listener is dropped (docs/dev-tunnels-ssh.md, trap 6).
 * Window adjustments follow consumption: bytes are acknowledged only once the readable side
 * has room, so a slow consumer slows the remote instead of filling memory.
 */
export function channelStreams(channel: SshChannel): ChannelStreams {
  let unacked = 0;
  const full = { out: false, err: false };
  const acknowledge = () => {
    if (full.out || full.err || unacked === 0) return;
    const n = unacked;
    unacked = 0;
    channel.adjustWindow(n);
  };
  const stdout = new Readable({
    read() {
      full.out = false;
      acknowledge();
    },
  });
  const stderr = new Readable({
    read() {
      full.err = false;
      acknowledge();
    },
  });
  const deliver = (target: Readable, which: 'out' | 'err', data: Buffer) => {
    // Queued until read: a copy only if the library may reuse the buffer (unpatched).
    const copy = ownedChannelData(data);
    if (target.readableEnded || target.destroyed) {
      channel.adjustWindow(copy.length);
      return;
    }
    unacked += copy.length;
    if (!target.push(copy)) full[which] = true;
    acknowledge();
  };
  channel.onDataReceived((data) => deliver(stdout, 'out', data));
  channel.onExtendedDataReceived((e) => {
    if (e.dataTypeCode === STDERR) deliver(stderr, 'err', e.data);
    else channel.adjustWindow(e.data.length);
  });
  const endReadables = () => {
    if (!stdout.readableEnded && !stdout.destroyed) stdout.push(null);
    if (!stderr.readableEnded && !stderr.destroyed) stderr.push(null);
  };
  channel.onEof(endReadables);

  const stdin = new Writable({
    write(chunk: Buffer, _enc, callback) {
      if (channel.isClosed) return callback(); // the remote is gone: input has nowhere to go
      channel.send(chunk).then(
        () => callback(),
        (e: unknown) => (channel.isClosed ? callback() : callback(e as Error)),
      );
    },
    final(callback) {
      if (channel.isClosed) return callback();
      // An empty send is how the library sends SSH_MSG_CHANNEL_EOF.
      channel.send(Buffer.alloc(0)).then(
        () => callback(),
        () => callback(),
      );
    },
  });
  stdin.on('error', () => {});

  const exit = new Promise<ExitInfo>((resolve) => {
    channel.onClosed((e) => {
      endReadables();
      const info: ExitInfo = {};
      if (e.exitStatus !== undefined) info.exitStatus = e.exitStatus;
      if (e.exitSignal === 'SIGABRT' && e.exitStatus === undefined && !e.error) {
        // dev-tunnels-ssh reports a channel torn down with its session (dispose) as signal
        // "SIGABRT". Real exit signals arrive without the SIG prefix (RFC 4254 §6.10), so this
        // is not the remote process dying: it is the session going away.
        info.error = new Error(e.errorMessage || 'the channel was aborted');
      } else {
        if (e.exitSignal !== undefined) info.exitSignal = e.exitSignal.replace(/^SIG/, '');
        if (e.errorMessage) info.errorMessage = e.errorMessage;
        if (e.error) info.error = e.error;
      }
      resolve(info);
    });
  });
  return { stdout, stderr, stdin, exit };
}

/** How long a refused request waits for the agent's explanation, which follows the refusal at once. */
const EXPLANATION_WAIT_MS = 300;
const MAX_EXPLANATION = 300;

/**
 * The agent's explanation of a refused request: what it wrote on stderr before closing the
 * channel (e.g. "no sftp-server on this VM (looked for …)"), as one printable line without the
 * `airlock-agent:` prefix; undefined if it said nothing within a moment. The text comes from the
 * far side, so control characters are dropped and the length is bounded.
 */
export async function refusalExplanation(streams: ChannelStreams): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (d: Buffer) => {
    if (size >= MAX_EXPLANATION * 4) return;
    chunks.push(d);
    size += d.length;
  };
  streams.stderr.on('data', onData);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([streams.exit, new Promise((r) => (timer = setTimeout(r, EXPLANATION_WAIT_MS)))]);
  clearTimeout(timer);
  await new Promise((r) => setImmediate(r)); // data pushed just before the close is delivered
  streams.stderr.off('data', onData);
  const line = printableText(
    Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')[0]!
      .replace(/^airlock-agent:\s*/, ''),
    MAX_EXPLANATION,
  );
  return line || undefined;
}
