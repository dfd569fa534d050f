import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { airlockBin, startSystem, type System } from './harness.js';

// OpenSSH's own `sftp` client, talking to OpenSSH's `sftp-server` on the VM through
// `airlock sftp-stdio` (the relay in between sees only ciphertext).
let sys: System;
let work: string;
before(async () => {
  sys = await startSystem();
  work = mkdtempSync(join(tmpdir(), 'airlock-sftp-'));
});
after(async () => {
  await sys?.close();
  rmSync(work, { recursive: true, force: true });
});

function sftpBatch(batch: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sftp', ['-b', '-', '-D', `${airlockBin} sftp-stdio ${sys.vm}`], {
      env: { ...process.env, AIRLOCK_HOME: sys.home },
      cwd: work,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(batch);
  });
}

test('OpenSSH sftp through airlock sftp-stdio: put, ls, get (byte-identical), rm', async () => {
  const local = join(work, 'upload.bin');
  const remote = join(work, `remote-${randomBytes(4).toString('hex')}.bin`);
  const back = join(work, 'download.bin');
  const data = randomBytes(5 * 1024 * 1024 + 17);
  writeFileSync(local, data);

  const put = await sftpBatch(`put ${local} ${remote}\nls -l ${remote}\nget ${remote} ${back}\n`);
  assert.equal(put.code, 0, put.stderr);
  assert.match(put.stdout, new RegExp(remote.split('/').pop()!));
  // The "VM" is this machine, so the upload can be checked on disk too.
  assert.equal(
    createHash('sha256').update(readFileSync(remote)).digest('hex'),
    createHash('sha256').update(data).digest('hex'),
  );
  assert.ok(readFileSync(back).equals(data), 'downloaded bytes equal the uploaded ones');

  const rm = await sftpBatch(`rm ${remote}\n`);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(existsSync(remote), false, 'rm removed the remote file');
});

test('sftp of a missing file fails cleanly without breaking the session', async () => {
  const r = await sftpBatch(`get ${join(work, 'does-not-exist')} ${join(work, 'x')}\n`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /not found|No such file/i);
});

test('the sftp client killed mid-download: airlock sftp-stdio closes the session and exits, no stack trace', async () => {
  const remote = join(work, `big-${randomBytes(4).toString('hex')}.bin`);
  writeFileSync(remote, randomBytes(64 * 1024 * 1024));
  const partial = join(work, 'partial.bin');
  const child = spawn('sftp', ['-b', '-', '-D', `${airlockBin} sftp-stdio ${sys.vm}`], {
    env: { ...process.env, AIRLOCK_HOME: sys.home },
    cwd: work,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The pipe on stderr closes once every holder has exited: sftp and the airlock it started.
  const stderrClosed = new Promise<void>((resolve) => child.stderr.on('close', resolve));
  child.stdin.end(`get ${remote} ${partial}\n`);
  const deadline = Date.now() + 30_000;
  while (!(existsSync(partial) && statSync(partial).size > 1024 * 1024)) {
    assert.ok(Date.now() < deadline, `the download never started: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  const gone = await Promise.race([
    stderrClosed.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
  ]);
  rmSync(remote);
  assert.ok(gone, 'airlock sftp-stdio was still running 15 s after its sftp client died');
  assert.doesNotMatch(stderr, /^\s+at |Error:|Unhandled/m, stderr);
});

test('the sftp client stops reading but keeps its end open: airlock sftp-stdio ends the session, no crash', async () => {
  // stdout a pipe (as sftp gives it) whose reader is gone at once: every write fails with EPIPE.
  const child = spawn('bash', ['-c', 'set -o pipefail; "$0" sftp-stdio "$1" | true', airlockBin, sys.vm], {
    env: { ...process.env, AIRLOCK_HOME: sys.home },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // SSH_FXP_INIT, version 3: sftp-server answers with its version, which has nowhere to go. Our
  // end of stdin stays open, so only the failed write can end the command.
  child.stdin.write(Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  child.stdin.destroy();
  assert.equal(signal, null, `airlock sftp-stdio was still running 15 s later: ${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at |Error:|internal error/m, stderr);
  assert.equal(code, 0, stderr);
});
