import { randomBytes } from 'node:crypto';

/** One WebSocket frame as a client sends it (masked), with every header bit under the caller's control. */
export function wsFrame(
  opcode: number,
  payload: Buffer,
  opts: { fin?: boolean; rsv?: number; masked?: boolean; declaredLength?: number } = {},
): Buffer {
  const fin = opts.fin ?? true;
  const masked = opts.masked ?? true;
  const len = opts.declaredLength ?? payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | (((opts.rsv ?? 0) & 0x7) << 4) | (opcode & 0xf)];
  const maskBit = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) head.push(maskBit | len);
  else if (len < 0x10000) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  if (!masked) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}
