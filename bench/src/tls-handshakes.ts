// TLS handshakes with the certificates Airlock mints (ECDSA P-256 relay and login certificates)
// against the RSA ones it minted before (RSA-3072 relay, RSA-2048 login): the cost a relay pays
// three times per session (Connect's ticket request and data socket, the agent's data socket).
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { mintClientCertificate, mintServerCertificate, type MintedCertificate } from '@airlock/shared';
import { median } from './stats.js';

export interface HandshakeCost {
  /** Wall time of one handshake on loopback, client and server in this process. */
  medianMs: number;
  /** CPU of both ends together per handshake. */
  cpuMs: number;
}

const HANDSHAKES = 200;

const rsaKeyPem = (bits: number) =>
  generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

async function handshakes(server: MintedCertificate, client: MintedCertificate): Promise<HandshakeCost> {
  // The relay asks for a client certificate and judges it after the handshake (the token's cnf).
  // A handshake counts once the server has verified the client's certificate and finished too:
  // the client is done a flight earlier, and a client that hung up then would spare the server
  // the very work measured here.
  let serverDone: (() => void) | undefined;
  let refused = 0;
  const tlsServer = createServer(
    { cert: server.certPem, key: server.keyPem, requestCert: true, rejectUnauthorized: false },
    (s) => {
      serverDone?.();
      s.end();
    },
  );
  tlsServer.on('tlsClientError', () => refused++);
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  const port = (tlsServer.address() as AddressInfo).port;
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < HANDSHAKES; i++) {
    const t0 = performance.now();
    const serverSide = new Promise<void>((resolve) => (serverDone = resolve));
    const socket = connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      cert: client.certPem,
      key: client.keyPem,
    });
    await Promise.all([once(socket, 'secureConnect'), serverSide]);
    times.push(performance.now() - t0);
    socket.destroy();
  }
  const cpu = process.cpuUsage(cpu0);
  tlsServer.close();
  if (refused > 0) throw new Error(`${refused} of ${HANDSHAKES} handshakes failed on the server's side`);
  return { medianMs: median(times), cpuMs: (cpu.user + cpu.system) / 1000 / HANDSHAKES };
}

export async function measureTlsHandshakes(): Promise<{ minted: HandshakeCost; rsaBefore: HandshakeCost }> {
  const minted = await handshakes(
    await mintServerCertificate({ commonName: 'bench-relay', ipAddresses: ['127.0.0.1'] }),
    await mintClientCertificate({ commonName: 'bench', ttlSeconds: 600 }),
  );
  const rsaBefore = await handshakes(
    await mintServerCertificate({ commonName: 'bench-relay', ipAddresses: ['127.0.0.1'], keyPem: rsaKeyPem(3072) }),
    // The login certificate was RSA-2048; its extended key usage does not matter to this server.
    await mintServerCertificate({ commonName: 'bench', keyPem: rsaKeyPem(2048) }),
  );
  return { minted, rsaBefore };
}
