// Real FreeRDP against a real xrdp through the desktop app's forward: the Connect API's
// `forward.add` (as the app's RDP action starts it), the `.rdp` file the app writes for it, and
// `xfreerdp /auth-only` on that file — through the relay and the agent to xrdp on the VM's loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { portOf } from '@airlock/shared/testing';
import type { ApiResponse, ApiResult } from '@airlock/connect/api/contract';
import { createDispatch } from '@airlock/connect/api/dispatch';
import { ConnectService } from '@airlock/connect/api/service/connect-service';
import { rdpFileContent } from '@airlock/connect/api/service/rdp';
import { TEST_PASSWORD, startSystem, type System } from './harness.js';
import { memorySecretCache } from './support/connect-app.js';
import { freerdpAuthOnly, rdpToolsMissing, startXrdp, type Xrdp } from './support/xrdp.js';

const skip = rdpToolsMissing;
let dir: string;
let xrdp: Xrdp;
/** Accepts and closes at once: not an RDP server (the client must fail against it). */
let notRdp: Server;
let sys: System;
let service: ConnectService;
let dispatch: ReturnType<typeof createDispatch>;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'airlock-rdp-'));
  xrdp = await startXrdp(dir);
  notRdp = createServer((s) => s.destroy()).listen(0, '127.0.0.1');
  await once(notRdp, 'listening');
  sys = await startSystem({ ports: [xrdp.port, portOf(notRdp)] });
  // The app's service, logged in as the system's user (the CLI enrolled and logged in there).
  service = new ConnectService({ home: sys.home, secretCacheFor: () => memorySecretCache() });
  dispatch = createDispatch(service);
});

after(async () => {
  if (skip) return;
  await service?.close();
  await sys?.close();
  notRdp?.close();
  await xrdp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A forward from the app to `remotePort` and the app's .rdp file for it. */
async function forwardWithRdpFile(remotePort: number, name: string) {
  const added = (await dispatch('forward.add', { vm: sys.vm, remotePort })) as ApiResponse<ApiResult<'forward.add'>>;
  assert.ok(added.ok, JSON.stringify(added));
  const file = join(dir, `${name}.rdp`);
  writeFileSync(file, rdpFileContent({ port: added.value.localPort, user: sys.user }), { mode: 0o600 });
  return file;
}

test('xfreerdp /auth-only through the app forward reaches xrdp and exits 0', { skip }, async () => {
  const file = await forwardWithRdpFile(xrdp.port, 'xrdp');
  const tlsBefore = xrdp.log().split('TLS connection established').length;
  const client = await freerdpAuthOnly([file, `/p:${TEST_PASSWORD}`]);
  assert.equal(client.code, 0, client.output);
  // It was xrdp that answered, through the agent.
  assert.equal(xrdp.log().split('TLS connection established').length, tlsBefore + 1, xrdp.log());
  assert.match(sys.agent.output(), new RegExp(`"port":${xrdp.port}[^\\n]*forward connected`));
  // The forward is left open: xrdp, with no sesman here, holds the connection (half-closed by the
  // client) while it tries to start a session, and removing a forward waits for its connections.
  // Closing the service at the end resets them.
});

test('the same client through a forward to something that is not RDP fails', { skip }, async () => {
  const file = await forwardWithRdpFile(portOf(notRdp), 'not-rdp');
  const client = await freerdpAuthOnly([file, `/p:${TEST_PASSWORD}`]);
  assert.notEqual(client.code, 0, client.output);
});
