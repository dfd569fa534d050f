import { WebSocket, type RawData } from 'ws';
import { CloseCode, closeReason, isResumableClose } from '@airlock/shared';
import type { DataPlaneObserver, Direction } from './observer.js';

export interface FlowLimits {
  highWaterMarkBytes: number;
  lowWaterMarkBytes: number;
}

export function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * One direction of a paired session: every message read from `src` is sent to `dst` as it is
 * (binary or text flag kept, payload never parsed). Bytes handed to `dst.send` count as in
 * flight until its callback fires, i.e. until the socket has passed them to the kernel. Above
 * the high-water mark the relay stops reading `src` (`ws.pause()`, which stops reading its TCP
 * socket, so the sender's own TCP window closes); below the low-water mark it reads again.
 */
export class Flow {
  bytes = 0;
  inFlight = 0;
  maxInFlight = 0;
  pauses = 0;
  /** True while this flow holds `src` paused. */
  holdingSource = false;

  constructor(
    readonly direction: Direction,
    private readonly sid: string,
    private readonly src: WebSocket,
    private readonly dst: WebSocket,
    private readonly limits: FlowLimits,
    private readonly observer: DataPlaneObserver | undefined,
    private readonly onProgress: (ws: WebSocket) => void,
  ) {
    src.on('message', this.onMessage);
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    const buf = asBuffer(data);
    this.onProgress(this.src);
    this.observer?.onFrame?.(this.sid, this.direction, buf);
    if (this.dst.readyState !== WebSocket.OPEN) return;
    const len = buf.length;
    this.bytes += len;
    this.inFlight += len;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    this.dst.send(buf, { binary: isBinary }, (error) => {
      this.inFlight -= len;
      if (!error) this.onProgress(this.dst);
      if (this.holdingSource && this.inFlight <= this.limits.lowWaterMarkBytes) this.release();
    });
    if (!this.holdingSource && this.inFlight > this.limits.highWaterMarkBytes) {
      this.holdingSource = true;
      this.pauses++;
      this.src.pause();
    }
  };

  /** Reads the source again (drained, or the session is ending and its close frame must be read). */
  release(): void {
    if (!this.holdingSource) return;
    this.holdingSource = false;
    this.src.resume();
  }
}

/** Copies bytes both ways between a paired agent socket and Connect socket; either closing closes the other. */
export class SessionPipe {
  readonly up: Flow;
  readonly down: Flow;
  readonly startedAt = Date.now();
  private ended = false;

  constructor(
    readonly sid: string,
    private readonly agent: WebSocket,
    private readonly connect: WebSocket,
    limits: FlowLimits,
    observer: DataPlaneObserver | undefined,
    onProgress: (ws: WebSocket) => void,
    /**
     * Called once with the reason the pairing ended, whether a side ended it as a failure, and
     * whether the session may be resumed (a side vanished rather than closed it).
     */
    private readonly onEnd: (reason: string, failed: boolean, interrupted: boolean) => void,
  ) {
    this.up = new Flow('up', sid, connect, agent, limits, observer, onProgress);
    this.down = new Flow('down', sid, agent, connect, limits, observer, onProgress);
    agent.on('close', (code, reason) => this.sideClosed('agent', code, reason.toString()));
    connect.on('close', (code, reason) => this.sideClosed('connect', code, reason.toString()));
  }

  /** Ends the pairing from the relay's side (revocation, shutdown, a resume taking over). */
  close(code: number, reason: string): void {
    if (this.ended) return;
    this.finish(reason, false, isResumableClose(code));
    for (const ws of [this.agent, this.connect]) this.closeSocket(ws, code, reason);
  }

  private sideClosed(side: 'agent' | 'connect', code: number, peerReason: string): void {
    if (this.ended) return;
    const who = side === 'agent' ? 'agent' : 'Connect';
    const other = side === 'agent' ? this.connect : this.agent;
    // A side that vanished did not end the session: the other keeps its SSH session for a resume.
    if (isResumableClose(code)) {
      const text = `${who}'s connection was lost` + (peerReason ? `: ${peerReason}` : '');
      this.finish(`${text} (code ${code})`, false, true);
      this.closeSocket(other, CloseCode.peerLost, closeReason(text));
      return;
    }
    const text = `${who} closed the session` + (peerReason ? `: ${peerReason}` : '');
    this.finish(`${text} (code ${code})`, code === CloseCode.protocolError || code === CloseCode.internalError, false);
    this.closeSocket(other, CloseCode.peerClosed, closeReason(text));
  }

  private finish(reason: string, failed: boolean, interrupted: boolean): void {
    this.ended = true;
    this.onEnd(reason, failed, interrupted);
  }

  private closeSocket(ws: WebSocket, code: number, reason: string): void {
    // A session that stays resumable loses this connection the way a network loses one: at once,
    // with nothing more delivered. A closing handshake would flush what the relay still holds for
    // that side while the side is already resuming; measured: a graceful relay restart under a
    // 1 GiB download then delivered the stream with equal length and a different checksum.
    if (isResumableClose(code)) {
      ws.terminate();
      return;
    }
    // A socket the relay paused must be read again, or its closing handshake never completes.
    this.up.release();
    this.down.release();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, closeReason(reason));
  }
}
