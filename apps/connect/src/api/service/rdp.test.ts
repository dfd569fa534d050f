import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ok } from '@airlock/shared';
import type { Platform } from './platform.js';
import { chooseRdpClient, rdpFileContent } from './rdp.js';

/** Another OS, with the programs and files given (nothing is run). */
function platform(os: NodeJS.Platform, programs: Record<string, string> = {}, files: string[] = []): Platform {
  return {
    os,
    which: async (p) => programs[p],
    exists: async (p) => files.includes(p),
    launch: async () => ok(undefined),
  };
}

test('the .rdp file points the client at the forward on loopback and asks for the password', () => {
  const text = rdpFileContent({ port: 13389, user: 'alice' });
  const lines = text.split('\r\n');
  assert.equal(lines[0], 'full address:s:127.0.0.1:13389');
  assert.ok(lines.includes('username:s:alice'));
  assert.ok(lines.includes('prompt for credentials:i:1'));
  assert.ok(text.endsWith('\r\n') && !/[^\r]\n/.test(text), 'CRLF lines');
  assert.ok(!rdpFileContent({ port: 1 }).includes('username:'));
});

test('the native client per OS: mstsc, the Windows App through open, xfreerdp or Remmina', async () => {
  const file = '/home/a/.airlock/rdp/vm.rdp';
  assert.deepEqual(await chooseRdpClient(platform('win32', { mstsc: 'C:\\Windows\\System32\\mstsc.EXE' }), file), {
    client: { name: 'Remote Desktop Connection (mstsc)', command: ['C:\\Windows\\System32\\mstsc.EXE', file] },
  });
  assert.deepEqual(await chooseRdpClient(platform('darwin', {}, ['/Applications/Windows App.app']), file), {
    client: { name: 'Windows App', command: ['open', '-a', 'Windows App', file] },
  });
  assert.deepEqual(
    await chooseRdpClient(platform('darwin', {}, ['/Applications/Microsoft Remote Desktop.app']), file),
    { client: { name: 'Microsoft Remote Desktop', command: ['open', '-a', 'Microsoft Remote Desktop', file] } },
  );
  assert.deepEqual(
    await chooseRdpClient(platform('linux', { xfreerdp: '/usr/bin/xfreerdp', remmina: '/usr/bin/remmina' }), file),
    { client: { name: 'FreeRDP (xfreerdp)', command: ['/usr/bin/xfreerdp', file] } },
  );
  assert.deepEqual(await chooseRdpClient(platform('linux', { xfreerdp3: '/usr/bin/xfreerdp3' }), file), {
    client: { name: 'FreeRDP (xfreerdp3)', command: ['/usr/bin/xfreerdp3', file] },
  });
  assert.deepEqual(await chooseRdpClient(platform('linux', { remmina: '/usr/bin/remmina' }), file), {
    client: { name: 'Remmina', command: ['/usr/bin/remmina', '-c', file] },
  });
});

test('without a client: which to install, per OS', async () => {
  const none = async (os: NodeJS.Platform) => chooseRdpClient(platform(os), '/x.rdp');
  const linux = await none('linux');
  assert.ok('install' in linux && /xfreerdp/.test(linux.install.name) && /Remmina/.test(linux.install.name));
  const mac = await none('darwin');
  assert.ok('install' in mac && mac.install.name === 'Windows App' && mac.install.url.startsWith('https://'));
  const win = await none('win32');
  assert.ok('install' in win && /mstsc/.test(win.install.name));
});
