import {
  ChannelOpenMessage,
  ChannelRequestMessage,
  type SshDataReader,
  type SshDataWriter,
} from '@microsoft/dev-tunnels-ssh';

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

/**
 * `direct-tcpip` channel open (RFC 4254 §7.2): the host and port to connect to on the far side,
 * and who asked. Connect writes it and the agent reads it, so both use this one class (the
 * library's own lives in the separate `-ssh-tcp` package, which neither end otherwise needs).
 */
export class DirectTcpipOpenMessage extends ChannelOpenMessage {
  host = '';
  port = 0;
  originatorIPAddress = '127.0.0.1';
  originatorPort = 0;

  constructor() {
    super();
    this.channelType = 'direct-tcpip';
  }

  protected override onRead(reader: SshDataReader): void {
    super.onRead(reader);
    this.host = reader.readString('utf8');
    this.port = reader.readUInt32();
    this.originatorIPAddress = reader.readString('utf8');
    this.originatorPort = reader.readUInt32();
  }

  protected override onWrite(writer: SshDataWriter): void {
    super.onWrite(writer);
    writer.writeString(this.host, 'utf8');
    writer.writeUInt32(this.port);
    writer.writeString(this.originatorIPAddress, 'utf8');
    writer.writeUInt32(this.originatorPort);
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

export function directTcpipOpen(init: {
  host: string;
  port: number;
  /** The opener's receive window; the library default when left out. */
  maxWindowSize?: number;
  /** Who asked; 127.0.0.1:0 when left out. */
  originator?: { address: string; port: number };
}): DirectTcpipOpenMessage {
  const m = new DirectTcpipOpenMessage();
  m.host = init.host;
  m.port = init.port;
  if (init.maxWindowSize !== undefined) m.maxWindowSize = init.maxWindowSize;
  if (init.originator) {
    m.originatorIPAddress = init.originator.address;
    m.originatorPort = init.originator.port;
  }
  return m;
}
