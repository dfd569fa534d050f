import { ChannelRequestMessage, type SshDataReader, type SshDataWriter } from '@microsoft/dev-tunnels-ssh';

/**
 * Channel requests the library has no classes for (RFC 4254 §6.2, §6.5, §6.7). The library
 * hands us a generic ChannelRequestMessage; `convertTo` re-reads its bytes with these. Parse
 * synchronously inside the handler: the receive buffer is reused afterwards.
 */
export class PtyRequestMessage extends ChannelRequestMessage {
  term = 'xterm-256color';
  cols = 80;
  rows = 24;
  widthPx = 0;
  heightPx = 0;
  modes: Buffer = Buffer.alloc(1);

  constructor() {
    super('pty-req', true);
  }

  protected override onRead(reader: SshDataReader): void {
    super.onRead(reader);
    this.term = reader.readString('utf8');
    this.cols = reader.readUInt32();
    this.rows = reader.readUInt32();
    this.widthPx = reader.readUInt32();
    this.heightPx = reader.readUInt32();
    this.modes = Buffer.from(reader.readBinary());
  }

  protected override onWrite(writer: SshDataWriter): void {
    super.onWrite(writer);
    writer.writeString(this.term, 'utf8');
    writer.writeUInt32(this.cols);
    writer.writeUInt32(this.rows);
    writer.writeUInt32(this.widthPx);
    writer.writeUInt32(this.heightPx);
    writer.writeBinary(this.modes);
  }
}

export class WindowChangeMessage extends ChannelRequestMessage {
  cols = 80;
  rows = 24;
  widthPx = 0;
  heightPx = 0;

  constructor() {
    super('window-change', false);
  }

  protected override onRead(reader: SshDataReader): void {
    super.onRead(reader);
    this.cols = reader.readUInt32();
    this.rows = reader.readUInt32();
    this.widthPx = reader.readUInt32();
    this.heightPx = reader.readUInt32();
  }

  protected override onWrite(writer: SshDataWriter): void {
    super.onWrite(writer);
    writer.writeUInt32(this.cols);
    writer.writeUInt32(this.rows);
    writer.writeUInt32(this.widthPx);
    writer.writeUInt32(this.heightPx);
  }
}

export class SubsystemRequestMessage extends ChannelRequestMessage {
  subsystem = '';

  constructor() {
    super('subsystem', true);
  }

  protected override onRead(reader: SshDataReader): void {
    super.onRead(reader);
    this.subsystem = reader.readString('utf8');
  }

  protected override onWrite(writer: SshDataWriter): void {
    super.onWrite(writer);
    writer.writeString(this.subsystem, 'utf8');
  }
}

export function ptyRequest(init: { term: string; cols: number; rows: number }): PtyRequestMessage {
  const m = new PtyRequestMessage();
  Object.assign(m, init);
  return m;
}

export function windowChange(cols: number, rows: number): WindowChangeMessage {
  const m = new WindowChangeMessage();
  m.cols = cols;
  m.rows = rows;
  return m;
}

export function subsystemRequest(name: string): SubsystemRequestMessage {
  const m = new SubsystemRequestMessage();
  m.subsystem = name;
  return m;
}
