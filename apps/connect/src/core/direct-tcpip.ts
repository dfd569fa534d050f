import { ChannelOpenMessage, type SshDataReader, type SshDataWriter } from '@microsoft/dev-tunnels-ssh';

/**
 * `direct-tcpip` channel open (RFC 4254 §7.2): host and port to connect to on the far side,
 * plus the originator's address. Written here because the library's class lives in the
 * separate `-ssh-tcp` package, which Connect does not otherwise need.
 */
export class DirectTcpipOpenMessage extends ChannelOpenMessage {
  host = '127.0.0.1';
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

export function directTcpipOpen(init: { host: string; port: number; maxWindowSize: number }): DirectTcpipOpenMessage {
  const m = new DirectTcpipOpenMessage();
  m.host = init.host;
  m.port = init.port;
  m.maxWindowSize = init.maxWindowSize;
  return m;
}
