import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { CliResult } from './harness.js';
import { orgCli, relayCli } from './support/relay-cli.js';

// The administrator's round trip between the two tools, as real processes: `airlock-org` on the
// admin workstation and `airlock-relay org …` on the relay, exchanging only the files the README
// names. Every refusal is one line (and a hint), a non-zero exit, and never a stack trace.
const tmp = mkdtempSync(join(tmpdir(), 'airlock-org-admin-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const orgDir = join(tmp, 'org');
const otherOrgDir = join(tmp, 'other-org');
const dataDir = join(tmp, 'relay');
const pw = join(tmp, 'pw');
const backupPw = join(tmp, 'backup-pw');
writeFileSync(pw, 'primary root password\n');
writeFileSync(backupPw, 'backup root password!\n');
const ENV = { AIRLOCK_RELAY_PUBLIC_URL: 'https://relay.example.org:7443' };
const relay = (...args: string[]) => relayCli(dataDir, args, ENV);
const org = (...args: string[]) => orgCli(orgDir, args);

/** A refusal as an admin sees it: exit `code`, the message, and no stack trace. */
function refused(r: CliResult, code: number, message: RegExp, hint?: RegExp): void {
  assert.equal(r.code, code, `exit ${r.code}: ${r.stderr}${r.stdout}`);
  assert.match(r.stderr, message);
  if (hint) assert.match(r.stderr, hint);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(r.stderr, /"code":|ZodError|\[\s*\{/, 'no raw validation dump');
}

const init = (dir: string, name: string) =>
  orgCli(dir, ['init', '--org', name, '--password-file', pw, '--backup-password-file', backupPw]);

test('before an anchor: the relay says it runs without a root, and refuses what needs one with the step to take', async () => {
  const [made, other, bob] = await Promise.all([
    init(orgDir, 'Test Lab'),
    init(otherOrgDir, 'Other Lab'),
    relay('user', 'add', 'bob'),
  ]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(bob.code, 0, bob.stderr);
  assert.match(bob.stdout, /airlock enroll https:\/\/relay\.example\.org:7443 u1\./, 'no root yet: a u1 code');
  const status = await relay('org', 'status');
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^no organisation root: the relay can impersonate users to VMs and VMs to users/);
  const noRoot = /^error: this relay has no organisation root\nhint: set one first: airlock-relay org set-anchor/;
  const [request, crl] = await Promise.all([
    relay('org', 'request', 'user', 'bob'),
    relay('org', 'set-crl', join(orgDir, 'crl.json')),
  ]);
  refused(request, 1, noRoot);
  refused(crl, 1, noRoot);
});

test('org set-anchor: bad files refused; the anchor set once; another organisation needs --replace', async () => {
  refused(
    await relay('org', 'set-anchor', join(tmp, 'missing.json')),
    1,
    /^error: cannot read .*missing\.json: ENOENT/,
  );
  writeFileSync(join(tmp, 'not-json'), 'this is not an anchor');
  refused(await relay('org', 'set-anchor', join(tmp, 'not-json')), 1, /^error: not an organisation anchor: /);
  const set = await relay('org', 'set-anchor', join(orgDir, 'anchor.json'));
  assert.equal(set.code, 0, set.stderr);
  const afp = /^fingerprint\s+(\S+)/m.exec((await org('show')).stdout)?.[1];
  assert.ok(afp, 'airlock-org show names the fingerprint');
  assert.equal(set.stdout.trim(), `this relay now serves organisation "Test Lab" (${afp})`);
  assert.match((await relay('org', 'set-anchor', join(orgDir, 'anchor.json'))).stdout, /^already serving "Test Lab"/);
  refused(
    await relay('org', 'set-anchor', join(otherOrgDir, 'anchor.json')),
    1,
    /^error: this relay already serves organisation "Test Lab" .*pass --replace only when moving/,
  );
  const status = JSON.parse((await relay('org', 'status', '--json')).stdout) as { anchor: { afp: string } };
  assert.equal(status.anchor.afp, afp, 'the other organisation did not replace it');
});

test('org set-crl: only lists of this organisation, never an older one', async () => {
  const set = await relay('org', 'set-crl', join(orgDir, 'crl.json'));
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /^revocation list 1 set, valid until \S+; connected agents receive it within seconds/);
  refused(
    await relay('org', 'set-crl', join(orgDir, 'crl.json')),
    1,
    /already holds revocation list 1, not older than 1/,
  );
  refused(
    await relay('org', 'set-crl', join(otherOrgDir, 'crl.json')),
    1,
    /^error: not a revocation list of this organisation: /,
  );
  writeFileSync(join(tmp, 'empty.json'), '{}');
  refused(
    await relay('org', 'set-crl', join(tmp, 'empty.json')),
    1,
    /^error: not a revocation list of this organisation/,
  );
  const revoked = await org('crl', 'revoke', 'user', 'mallory', '--password-file', pw);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match((await relay('org', 'set-crl', join(orgDir, 'crl.json'))).stdout, /^revocation list 2 set/);
  const status = await relay('org', 'status');
  assert.match(status.stdout, /^revocation {4}list 2, valid until /m);
});

test('a code through both tools: the relay writes a request, airlock-org signs it, the relay accepts the answer', async () => {
  const request = join(tmp, 'alice.user.request.json');
  const add = await relay('user', 'add', 'alice', '--request-out', request);
  assert.equal(add.code, 0, add.stderr);
  assert.doesNotMatch(add.stdout, /\b[ua][12]\.[A-Za-z0-9_-]{20,}/, 'the relay printed no code');
  assert.match(add.stdout, new RegExp(`airlock-org sign ${request}`));
  const signed = await org('sign', request, '--password-file', pw);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stdout, /^airlock enroll https:\/\/relay\.example\.org:7443 u2\.\S+$/m);
  const answer = join(tmp, 'alice.user.answer.json');
  const accepted = await relay('org', 'accept', answer);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stdout, /^enrollment code for user alice accepted \(credential \S+, until \S+\)/);
  // The answer a relay stores holds no secret of the code: only its hash.
  const code = /u2\.([A-Za-z0-9_-]+)\./.exec(signed.stdout)![1]!;
  assert.ok(!readFileSync(answer, 'utf8').includes(code));
});

test('under a root, --json is JSON (the request and the next steps), and a request that cannot be written says how to write it again', async () => {
  const request = join(tmp, 'dora.user.request.json');
  const add = await relay('user', 'add', 'dora', '--json', '--request-out', request);
  assert.equal(add.code, 0, add.stderr);
  const shown = JSON.parse(add.stdout) as Record<string, unknown>;
  assert.deepEqual(shown, {
    user: 'dora',
    created: true,
    organisationRoot: true,
    request,
    next: {
      onAdminWorkstation: `airlock-org sign ${request}`,
      here: `airlock-relay org accept ${join(tmp, 'dora.user.answer.json')}`,
    },
  });
  const again = await relay('user', 'enroll-code', 'dora', '--json', '--request-out', request);
  assert.equal(JSON.parse(again.stdout).request, request);
  const vm = await relay(
    'vm',
    'add',
    'lab-9',
    '--ports',
    '22',
    '--json',
    '--request-out',
    join(tmp, 'lab-9.vm.request.json'),
  );
  assert.equal(JSON.parse(vm.stdout).vm, 'lab-9');

  const unwritable = join(tmp, 'no-such-folder', 'ed.user.request.json');
  const ed = await relay('user', 'add', 'ed', '--request-out', unwritable);
  refused(
    ed,
    1,
    new RegExp(`^error: user "ed" created, but the request could not be written to ${unwritable} \\(ENOENT\\)`),
    /^hint: write it to a folder you can write to: airlock-relay org request user ed --out <file>/m,
  );
  const retried = await relay('org', 'request', 'user', 'ed', '--out', join(tmp, 'ed.user.request.json'));
  assert.equal(retried.code, 0, retried.stderr);
});

test('org request and accept: usage errors exit 2, bad files exit 1, each saying what was expected', async () => {
  writeFileSync(join(tmp, 'not-json'), 'nope');
  const [kind, name, nobody, notAnswer, notJson, unknown] = await Promise.all([
    relay('org', 'request', 'group', 'x'),
    relay('org', 'request', 'user', 'Bad_Name'),
    relay('org', 'request', 'user', 'nobody'),
    relay('org', 'accept', join(tmp, 'empty.json')),
    relay('org', 'accept', join(tmp, 'not-json')),
    relay('org', 'frobnicate'),
  ]);
  refused(kind, 2, /expected user or vm/);
  refused(name, 2, /^error: "Bad_Name" is not a user name: must be/);
  refused(nobody, 1, /^error: no user "?nobody"?/);
  refused(
    notAnswer,
    1,
    /is not an answer from airlock-org sign \(type: /,
    /^hint: pass the <name>\.<user\|vm>\.answer\.json/m,
  );
  refused(notJson, 1, /not-json is not JSON/);
  refused(unknown, 2, /unknown command 'frobnicate'/);
});

test("airlock-org refuses a request from a relay that serves another organisation, and the other tool's files", async () => {
  const request = join(tmp, 'carol.user.request.json');
  assert.equal((await relay('user', 'add', 'carol', '--request-out', request)).code, 0);
  refused(
    await orgCli(otherOrgDir, ['sign', request, '--password-file', pw]),
    1,
    /^error: the request comes from a relay that holds organisation \S+, not this one/,
    /hint: set this organisation on the relay first/,
  );
  refused(
    await org('sign', join(orgDir, 'crl.json'), '--password-file', pw),
    1,
    /is not an Airlock organisation request/,
  );
});
