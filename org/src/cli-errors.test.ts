import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from './cli.js';

// airlock-org's refusals: bad input gets one line saying what was wrong (and a hint where one
// helps), exit 2 for a usage error, 1 for anything refused, and never a stack trace.
const tmp = mkdtempSync(join(tmpdir(), 'airlock-org-errors-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const pw = join(tmp, 'pw');
writeFileSync(pw, 'primary root password\n');
writeFileSync(join(tmp, 'backup-pw'), 'backup root password!\n');
writeFileSync(join(tmp, 'not-json'), 'not json at all');
writeFileSync(join(tmp, 'not-request.json'), JSON.stringify({ type: 'something-else' }));

async function run(dir: string, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--dir', dir, ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function refused(r: { code: number; err: string }, code: number, message: RegExp): void {
  assert.equal(r.code, code, r.err);
  assert.match(r.err, message);
  assert.doesNotMatch(r.err, /\n\s+at |"code":|\[\s*\{/, 'no stack trace, no raw validation dump');
}

test('without an organisation folder: each command says there is none and how to make one', async () => {
  const empty = join(tmp, 'nothing-here');
  for (const args of [['show'], ['issued'], ['crl', 'show'], ['crl', 'renew', '--password-file', pw]])
    refused(
      await run(empty, ...args),
      1,
      /^error: no organisation in .*nothing-here \(no anchor\.json\)\nhint: create one/,
    );
});

test('usage errors exit 2 with what was expected', async () => {
  const dir = join(tmp, 'usage');
  refused(await run(dir, 'init'), 2, /required option '--org <name>'/);
  refused(await run(dir, 'approver', 'add', 'Bad_Name'), 2, /'Bad_Name' is invalid .*lowercase letters/);
  refused(
    await run(dir, 'approver', 'add', 'carol', '--can', 'user,everything'),
    2,
    /expected a list of: user, vm, crl/,
  );
  refused(await run(dir, 'sign', 'x.json', '--hours', '500'), 2, /expected hours between 1 and 168/);
  refused(await run(dir, 'crl', 'revoke', 'group', 'x'), 2, /expected key, cred, user or vm/);
  refused(await run(dir, 'crl', 'renew', '--days', '0'), 2, /expected days between 1 and 30/);
  refused(await run(dir, 'frobnicate'), 2, /unknown command 'frobnicate'/);
});

test('bad files and keys are refused with the file named (exit 1)', async () => {
  const dir = join(tmp, 'org');
  const made = await run(
    dir,
    'init',
    '--org',
    'Lab',
    '--password-file',
    pw,
    '--backup-password-file',
    join(tmp, 'backup-pw'),
  );
  assert.equal(made.code, 0, made.err);
  refused(await run(dir, 'sign', join(tmp, 'missing.json')), 1, /^error: cannot read .*missing\.json: ENOENT/);
  refused(
    await run(dir, 'sign', join(tmp, 'not-json')),
    1,
    /^error: .*not-json is not JSON\nhint: pass the request file/,
  );
  refused(
    await run(dir, 'sign', join(tmp, 'not-request.json')),
    1,
    /is not an Airlock organisation request \(type: .*\)\nhint: pass the <name>\.<user\|vm>\.request\.json/,
  );
  refused(
    await run(dir, 'crl', 'renew', '--password-file', join(tmp, 'no-such-password')),
    1,
    /no-such-password.*\nhint: check the file given with the password option/s,
  );
  refused(
    await run(dir, 'crl', 'renew', '--key', join(tmp, 'no.key'), '--password-file', pw),
    1,
    /^error: no key file .*no\.key\nhint: pass the key with --key/,
  );
  refused(await run(dir, 'crl', 'renew', '--key', join(tmp, 'not-json'), '--password-file', pw), 1, /not-json: /);
  refused(await run(dir, 'init', '--org', 'Lab', '--password-file', pw), 1, /already holds an organisation/);
});
