import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { mintClientCertificate, mintServerCertificate, type MintedCertificate } from './mint.js';
import { curlPin, spkiPin } from './pin.js';
import {
  connectPinned,
  fetchServerCertificate,
  fetchServerPin,
  TlsConnectError,
  TlsPinMismatchError,
} from './pinned-connect.js';
import { startEchoTlsServer, within } from './testing/tls-servers.js';

let relayCert: MintedCertificate;
let relayPin: string;
let otherPin: string;
before(async () => {
  relayCert = await mintServerCertificate({ commonName: 'relay', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  relayPin = spkiPin(relayCert.certPem);
  otherPin = spkiPin((await mintServerCertificate({ commonName: 'relay' })).certPem);
});

test('with the right pin the socket is handed over after the handshake and carries data', async (t) => {
  const server = await startEchoTlsServer(relayCert);
  t.after(() => server.close());
  const socket = await connectPinned({ host: '127.0.0.1', port: server.port, pin: relayPin, timeoutMs: 5000 });
  t.after(() => socket.destroy());
  assert.equal(socket.encrypted, true);
  socket.write('ping');
  const [echo] = (await within(once(socket, 'data'), 5000, 'echo')) as [Buffer];
  assert.equal(echo.toString(), 'ping');
  const seen = await within(server.nextConnection(), 5000, 'server connection');
  assert.equal(seen.clientThumbprint, undefined, 'no client certificate was offered');
});

test('a wrong pin rejects with TlsPinMismatchError and the server receives no application byte', async (t) => {
  const server = await startEchoTlsServer(relayCert);
  t.after(() => server.close());
  const client = await mintClientCertificate({ commonName: 'alice', ttlSeconds: 600 });
  const error = await connectPinned({
    host: '127.0.0.1',
    port: server.port,
    pin: otherPin,
    clientCert: client,
  }).then(
    () => assert.fail('connected to an unpinned server'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TlsPinMismatchError);
  assert.equal(error.expected, otherPin);
  assert.equal(error.actual, relayPin);
  assert.match(error.message, /does not match the pin from your enrollment code/);
  assert.match(error.message, /ask your admin/);
  // Shown the way the relay prints its pin (curl's sha256//… form), so people can compare them.
  assert.ok(error.message.includes(curlPin(otherPin)) && error.message.includes(curlPin(relayPin)), error.message);
  const seen = await within(server.nextConnection(), 5000, 'server connection');
  await within(seen.closed, 5000, 'the client to hang up');
  assert.equal(seen.bytes, 0);
});

test('the client certificate arrives and the server computes the minted thumbprint', async (t) => {
  const server = await startEchoTlsServer(relayCert);
  t.after(() => server.close());
  const client = await mintClientCertificate({ commonName: 'alice', ttlSeconds: 600 });
  const socket = await connectPinned({ host: 'localhost', port: server.port, pin: relayPin, clientCert: client });
  t.after(() => socket.destroy());
  const seen = await within(server.nextConnection(), 5000, 'server connection');
  socket.write('x');
  await within(once(socket, 'data'), 5000, 'echo'); // the server has finished its side of the handshake
  assert.equal(seen.clientThumbprint, client.thumbprint);
});

test('fetchServerPin reads the pin and sends nothing', async (t) => {
  const server = await startEchoTlsServer(relayCert);
  t.after(() => server.close());
  assert.equal(await fetchServerPin('127.0.0.1', server.port, 5000), relayPin);
  const seen = await within(server.nextConnection(), 5000, 'server connection');
  await within(seen.closed, 5000, 'the client to hang up');
  assert.equal(seen.bytes, 0);
});

test('fetchServerCertificate names what was presented (pin, subject, issuer) and sends nothing', async (t) => {
  const server = await startEchoTlsServer(relayCert);
  t.after(() => server.close());
  const presented = await fetchServerCertificate('127.0.0.1', server.port, 5000);
  assert.equal(presented.pin, relayPin);
  assert.equal(presented.subject, 'CN=relay');
  assert.equal(presented.issuer, 'CN=relay', 'self-signed');
  assert.ok(Date.parse(presented.validTo) > Date.now());
  const seen = await within(server.nextConnection(), 5000, 'server connection');
  await within(seen.closed, 5000, 'the client to hang up');
  assert.equal(seen.bytes, 0);
});

test('a closed port is reported as refused', async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  await assert.rejects(
    connectPinned({ host: '127.0.0.1', port, pin: relayPin }),
    (e: unknown) => e instanceof TlsConnectError && e.reason === 'refused' && /refused/.test(e.message),
  );
});

test('a server that never answers the handshake times out', async (t) => {
  const silent = createServer((s: Socket) => s.on('error', () => {}));
  const sockets: Socket[] = [];
  silent.on('connection', (s: Socket) => sockets.push(s));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const started = Date.now();
  await assert.rejects(
    connectPinned({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port, pin: relayPin, timeoutMs: 300 }),
    (e: unknown) => e instanceof TlsConnectError && e.reason === 'timeout' && /within 300 ms/.test(e.message),
  );
  assert.ok(Date.now() - started < 3000);
});

test('a plain TCP service that hangs up during the handshake is a handshake failure, not a pin mismatch', async (t) => {
  const rude = createServer((s: Socket) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  rude.listen(0, '127.0.0.1');
  await once(rude, 'listening');
  t.after(() => rude.close());
  await assert.rejects(
    connectPinned({ host: '127.0.0.1', port: (rude.address() as AddressInfo).port, pin: relayPin, timeoutMs: 5000 }),
    (e: unknown) => e instanceof TlsConnectError && (e.reason === 'handshake' || e.reason === 'closed'),
  );
});

test('a connection reset during the handshake is said to be the network, not a server that does not speak TLS', async (t) => {
  const resetting = createServer((s: Socket) => s.resetAndDestroy());
  resetting.listen(0, '127.0.0.1');
  await once(resetting, 'listening');
  t.after(() => resetting.close());
  await assert.rejects(
    connectPinned({
      host: '127.0.0.1',
      port: (resetting.address() as AddressInfo).port,
      pin: relayPin,
      timeoutMs: 5000,
    }),
    (e: unknown) =>
      e instanceof TlsConnectError &&
      e.reason === 'reset' &&
      /^the connection to 127\.0\.0\.1:\d+ was reset before TLS completed; check the network$/.test(e.message),
  );
});
