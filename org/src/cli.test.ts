import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hashSecret, parseOneTimeCode } from '@airlock/shared';
import { ed25519FromSeed, OrgAnswer, verifyCredential, verifyCrl, type OrgRequest } from '@airlock/shared/org';
import { main } from './cli.js';
import { OrgDir } from './org-dir.js';

const tmp = mkdtempSync(join(tmpdir(), 'airlock-org-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, 'org');
const pw = join(tmp, 'pw');
const backupPw = join(tmp, 'backup-pw');
const approverPw = join(tmp, 'approver-pw');
writeFileSync(pw, 'primary root password\n');
writeFileSync(backupPw, 'backup root password!\n');
writeFileSync(approverPw, 'carol approves things\n');
const PIN = `sha256/${Buffer.alloc(32, 3).toString('base64')}`;

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--dir', dir, ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function request(kind: 'user' | 'vm', sub: string, afp: string): string {
  const r: OrgRequest = {
    type: 'airlock-org-request',
    v: 1,
    kind,
    sub,
    relayUrl: 'https://relay.example.org:7443',
    relayPin: PIN,
    afp,
    createdAt: new Date().toISOString(),
  };
  const path = join(tmp, `${sub}.${kind}.request.json`);
  writeFileSync(path, JSON.stringify(r));
  return path;
}

test('init makes two roots (0600, each under its own password), the anchor and revocation list 1, once', async () => {
  const r = await run('init', '--org', 'Example Lab', '--password-file', pw, '--backup-password-file', backupPw);
  assert.equal(r.code, 0, r.err);
  const anchor = await new OrgDir(dir).anchor();
  assert.match(r.out, new RegExp(`anchor fingerprint \\(afp\\): ${anchor.afp}`));
  assert.equal(anchor.roots.length, 2);
  for (const f of ['root-primary.key', 'root-backup.key']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const crl = await verifyCrl(anchor, JSON.parse(readFileSync(join(dir, 'crl.json'), 'utf8')).chain);
  assert.ok(crl.ok && crl.value.seq === 1);
  const again = await run('init', '--org', 'Example Lab', '--password-file', pw, '--backup-password-file', backupPw);
  assert.equal(again.code, 1);
  assert.match(again.err, /already holds an organisation/);
  const wrongPw = join(tmp, 'wrong');
  writeFileSync(wrongPw, 'not the password at all\n');
  const refused = await run('crl', 'renew', '--password-file', wrongPw);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /wrong password/);
});

test('sign: the code pins the organisation; the relay gets only the hash of its secret and the public credential', async () => {
  const anchor = await new OrgDir(dir).anchor();
  const req = request('user', 'alice', anchor.afp);
  const r = await run('sign', req, '--password-file', pw, '--hours', '24');
  assert.equal(r.code, 0, r.err);
  const command = r.out.trim();
  assert.match(command, /^airlock enroll https:\/\/relay\.example\.org:7443 u2\./);
  const code = parseOneTimeCode(command.split(' ')[3]!, 'user');
  assert.ok(code.ok && code.value.org);
  assert.equal(code.value.org.afp, anchor.afp);
  assert.equal(code.value.pin, PIN);
  const answer = OrgAnswer.parse(JSON.parse(readFileSync(join(tmp, 'alice.user.answer.json'), 'utf8')));
  assert.equal(answer.secretSha256, hashSecret(code.value.secret));
  assert.ok(!JSON.stringify(answer).includes(command.split(' ')[3]!.split('.')[1]!), 'K is not in the answer');
  const cred = await verifyCredential(
    anchor,
    answer.chain,
    { kind: 'user', sub: 'alice', key: ed25519FromSeed(code.value.org.credSeed) },
    Date.now(),
  );
  assert.ok(cred.ok, JSON.stringify(cred));
  assert.ok(cred.value.exp - cred.value.iat <= 24 * 3600);
  assert.match((await run('issued', '--sub', 'alice')).out, new RegExp(cred.value.jti));
  // A request from a relay that holds another organisation's anchor is refused.
  const foreign = await run('sign', request('vm', 'lab-1', 'A'.repeat(43)), '--password-file', pw);
  assert.equal(foreign.code, 1);
  assert.match(foreign.err, /holds organisation A+, not this one/);
});

test('sign with a --code-out that cannot be written signs nothing: no answer, nothing recorded, the path named', async () => {
  const anchor = await new OrgDir(dir).anchor();
  const req = request('user', 'gina', anchor.afp);
  const issuedBefore = (await new OrgDir(dir).issued()).length;
  for (const codeOut of [join(tmp, 'no-such-folder', 'code'), tmp]) {
    const r = await run('sign', req, '--password-file', pw, '--code-out', codeOut);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      new RegExp(
        `cannot write the code to ${codeOut.replaceAll('/', '\\/')} \\((ENOENT|EISDIR)\\); nothing was signed`,
      ),
    );
    assert.match(r.err, /name a file in a folder you can write to/);
    assert.doesNotMatch(r.err, /\n\s+at /);
    assert.throws(() => statSync(join(tmp, 'gina.user.answer.json')), /ENOENT/, 'no answer for the relay');
    assert.equal((await new OrgDir(dir).issued()).length, issuedBefore, 'no credential recorded as issued');
  }
  // An answer that cannot be written takes the code it had written with it.
  const code = join(tmp, 'gina.code');
  const r = await run('sign', req, '--password-file', pw, '--code-out', code, '--out', join(tmp, 'nope', 'a.json'));
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /cannot write the answer to/);
  assert.throws(() => statSync(code), /ENOENT/, 'the code is gone with its answer');
  assert.equal((await new OrgDir(dir).issued()).length, issuedBefore);
});

test('an approver signs codes and lists within its powers; the backup root signs too', async () => {
  const anchor = await new OrgDir(dir).anchor();
  const added = await run(
    'approver',
    'add',
    'carol',
    '--can',
    'vm',
    '--password-file',
    pw,
    '--new-password-file',
    approverPw,
  );
  assert.equal(added.code, 0, added.err);
  const carol = join(dir, 'approvers', 'carol.key');
  const signed = await run(
    'sign',
    request('vm', 'lab-1', anchor.afp),
    '--key',
    carol,
    '--password-file',
    approverPw,
    '--code-out',
    join(tmp, 'code'),
  );
  assert.equal(signed.code, 0, signed.err);
  assert.equal(statSync(join(tmp, 'code')).mode & 0o777, 0o600);
  const answer = OrgAnswer.parse(JSON.parse(readFileSync(join(tmp, 'lab-1.vm.answer.json'), 'utf8')));
  assert.equal(answer.chain.length, 2, 'approver certificate, then the credential');
  // carol may not sign revocation lists.
  const crl = await run('crl', 'renew', '--key', carol, '--password-file', approverPw);
  assert.equal(crl.code, 1);
  assert.match(crl.err, /approver carol cannot sign revocation lists|may not sign for revocations/);
  const viaBackup = await run('crl', 'renew', '--key', join(dir, 'root-backup.key'), '--password-file', backupPw);
  assert.equal(viaBackup.code, 0, viaBackup.err);
});

test('crl revoke and unrevoke sign the next list; bad values are refused with what is expected', async () => {
  const before = (await new OrgDir(dir).crl(await new OrgDir(dir).anchor()))!.claims.seq;
  const r = await run('crl', 'revoke', 'user', 'mallory', '--password-file', pw);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`revocation list ${before + 1} \\(revoked user mallory\\)`));
  const shown = await run('crl', 'show', '--json');
  assert.deepEqual(JSON.parse(shown.out).revoked.users, ['mallory']);
  const bad = await run('crl', 'revoke', 'key', 'not-a-fingerprint', '--password-file', pw);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /is not a key fingerprint/);
  const notRevoked = await run('crl', 'unrevoke', 'user', 'bob', '--password-file', pw);
  assert.match(notRevoked.err, /bob is not revoked/);
  assert.equal((await run('crl', 'unrevoke', 'user', 'mallory', '--password-file', pw)).code, 0);
  assert.deepEqual(JSON.parse((await run('crl', 'show', '--json')).out).revoked.users, []);
});
