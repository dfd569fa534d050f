import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer, type Server, type TLSSocket } from 'node:tls';
import forge from 'node-forge';

/**
 * A TLS-inspecting proxy in front of the relay, as corporate firewalls run them: it answers TLS
 * with a certificate of its own — issued by its own CA, named like a real product's — opens its own
 * TLS connection to the relay, and copies the decrypted bytes between the two. `bytesFromClients`
 * counts what clients sent it after the handshake: a pinned client sends nothing.
 */
export class InterceptingProxy {
  bytesFromClients = 0;
  private readonly sockets = new Set<TLSSocket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static readonly subject = 'CN=relay.inspected, O=Example Corp';
  static readonly issuer = 'CN=Example Corp TLS Inspection CA, O=Example Corp';

  static async start(relayPort: number): Promise<InterceptingProxy> {
    const { certPem, keyPem } = caSignedCertificate();
    const server = createServer({ cert: certPem, key: keyPem });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = new InterceptingProxy(server, (server.address() as AddressInfo).port);
    server.on('secureConnection', (inbound) => proxy.intercept(inbound, relayPort));
    server.on('tlsClientError', () => {});
    return proxy;
  }

  private intercept(inbound: TLSSocket, relayPort: number): void {
    this.sockets.add(inbound);
    const outbound = tlsConnect({ host: '127.0.0.1', port: relayPort, rejectUnauthorized: false });
    const drop = () => {
      this.sockets.delete(inbound);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('data', (d: Buffer) => {
      this.bytesFromClients += d.length;
      outbound.write(d);
    });
    outbound.on('data', (d: Buffer) => inbound.write(d));
    for (const s of [inbound, outbound]) {
      s.on('error', drop);
      s.on('close', drop);
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A CA and a server certificate it signed, as an inspecting proxy presents them. */
function caSignedCertificate(): { certPem: string; keyPem: string } {
  const ca = newKey();
  const leaf = newKey();
  const name = (cn: string) => [
    { name: 'commonName', value: cn },
    { name: 'organizationName', value: 'Example Corp' },
  ];
  const caCert = certificate(
    ca.publicPem,
    name('Example Corp TLS Inspection CA'),
    name('Example Corp TLS Inspection CA'),
    true,
  );
  caCert.sign(forge.pki.privateKeyFromPem(ca.privatePem), forge.md.sha256.create());
  const leafCert = certificate(leaf.publicPem, name('relay.inspected'), caCert.subject.attributes, false);
  leafCert.sign(forge.pki.privateKeyFromPem(ca.privatePem), forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(leafCert) + forge.pki.certificateToPem(caCert),
    keyPem: leaf.privatePem,
  };
}

function newKey(): { publicPem: string; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

function certificate(
  publicPem: string,
  subject: forge.pki.CertificateField[],
  issuer: forge.pki.CertificateField[],
  isCa: boolean,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = isCa ? '01' : '02';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  cert.setExtensions([{ name: 'basicConstraints', cA: isCa }]);
  return cert;
}
