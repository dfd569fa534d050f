import type { ApiEvent } from '../contract/events.js';
import type { ApiResponse } from '../contract/common.js';

// The Connect API over a WebSocket (browser mode): JSON text frames, bytes as base64 inside.

/** The WebSocket subprotocol; a second one carries the launch secret (`airlock.secret.<secret>`). */
export const WIRE_PROTOCOL = 'airlock.v1';
export const SECRET_PROTOCOL_PREFIX = 'airlock.secret.';
/** Where the host serves the API's WebSocket. */
export const WIRE_PATH = '/api';
/** The largest message a client may send (a 64 KiB paste is the largest request). */
export const WIRE_MAX_MESSAGE_BYTES = 256 * 1024;

/** A request as the client sends it (the host checks it: host/wire-request.ts). */
export interface WireRequest {
  id: number;
  request: string;
  params?: unknown;
}

export type WireMessage = { id: number; response: ApiResponse<unknown> } | { event: ApiEvent };

const BYTES = '$bytes';

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, Math.min(i + 0x8000, bytes.length)));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** JSON with every Uint8Array as `{"$bytes": "<base64>"}`. */
export function encodeWire(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? { [BYTES]: toBase64(v) } : v));
}

/** The inverse of `encodeWire`; throws on text that is not JSON (the caller refuses it). */
export function decodeWire(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const b = (v as Record<string, unknown>)[BYTES];
      if (keys.length === 1 && typeof b === 'string') return fromBase64(b);
    }
    return v;
  });
}
