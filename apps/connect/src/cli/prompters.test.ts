import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { passwordWeakness } from '../core/identity/password-rules.js';
import { PromptError, type Prompter } from '../core/identity/prompter.js';
import { AskpassPrompter, confirmNewPassword, createPrompter, NO_TERMINAL_MESSAGE } from './prompters.js';

let dir: string;
let askpass: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-askpass-'));
  askpass = join(dir, 'askpass.sh');
  // A tiny askpass: answers by prompt, exits 1 ("Cancel") for prompts mentioning cancel.
  await writeFile(
    askpass,
    [
      '#!/bin/sh',
      'echo "$1|$AIRLOCK_ASKPASS_KIND" >> "$(dirname "$0")/asked.log"',
      'case "$1" in',
      '  *cancel*) exit 1 ;;',
      '  *Password*) printf "s3cret pass phrase\\n" ;;',
      '  *Name*) printf "alice" ;;',
      'esac',
    ].join('\n') + '\n',
  );
  await chmod(askpass, 0o755);
});
after(() => rm(dir, { recursive: true, force: true }));

test('AIRLOCK_ASKPASS: runs the program with the prompt, strips the newline, non-zero exit is cancel', async () => {
  const p = createPrompter({ ...process.env, AIRLOCK_ASKPASS: askpass });
  assert.ok(p instanceof AskpassPrompter);
  assert.equal(await p.password('Password for your key: '), 's3cret pass phrase');
  assert.equal(await p.text('Name: '), 'alice');
  await assert.rejects(p.password('please cancel: '), (e: unknown) => {
    assert.ok(e instanceof PromptError);
    assert.equal(e.failure.code, 'cancelled');
    return true;
  });
  assert.deepEqual((await readFile(join(dir, 'asked.log'), 'utf8')).trim().split('\n'), [
    'Password for your key: |password',
    'Name: |text',
    'please cancel: |password',
  ]);
  const missing = new AskpassPrompter(join(dir, 'no-such-program'));
  await assert.rejects(
    missing.password('x'),
    (e: unknown) => e instanceof PromptError && e.failure.code === 'askpass_failed',
  );
});

test('without a terminal and without AIRLOCK_ASKPASS the prompt fails at once with what to do', async () => {
  // A child in its own session (setsid via `detached`) has no controlling terminal, stdin a pipe.
  const script = fileURLToPath(new URL('./prompters.ts', import.meta.url));
  const core = fileURLToPath(new URL('../core/identity/prompter.ts', import.meta.url));
  const code = `
    const { createPrompter } = await import(${JSON.stringify(script)});
    const { PromptError } = await import(${JSON.stringify(core)});
    try { await createPrompter().password('Password: '); console.log('answered'); }
    catch (e) { console.log(e instanceof PromptError ? e.failure.code + ': ' + e.message : 'other ' + e); }`;
  const env = { ...process.env };
  delete env.AIRLOCK_ASKPASS;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    detached: true,
    stdio: ['pipe', 'pipe', 'inherit'],
    env,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(exit, 0);
  assert.equal(out.trim(), `no_terminal: ${NO_TERMINAL_MESSAGE}`);
  assert.equal(NO_TERMINAL_MESSAGE, 'no terminal to ask for the password; run in a terminal or set AIRLOCK_ASKPASS');
});

class Scripted implements Prompter {
  readonly said: string[] = [];
  constructor(private readonly answers: string[]) {}
  async password(): Promise<string> {
    const a = this.answers.shift();
    if (a === undefined) throw new PromptError({ code: 'cancelled', message: 'cancelled' });
    return a;
  }
  text(): Promise<string> {
    return this.password();
  }
  info(m: string): void {
    this.said.push(m);
  }
}

test('confirmNewPassword: asks twice, re-asks on weak or mismatched, gives up after three rounds', async () => {
  assert.equal(passwordWeakness(''), 'the password is empty');
  assert.equal(passwordWeakness('        '), 'the password is empty');
  assert.match(passwordWeakness('short')!, /too short \(at least 8/);
  assert.equal(passwordWeakness('long enough'), undefined);

  const ok = new Scripted(['', 'short', 'long enough 1', 'long enough 2', 'long enough 1', 'long enough 1']);
  const r = await confirmNewPassword(ok, { rounds: 4 });
  assert.deepEqual(r, { ok: true, value: 'long enough 1' });
  assert.deepEqual(ok.said, [
    'the password is empty; try again',
    'the password is too short (at least 8 characters); try again',
    'the two passwords do not match; try again',
  ]);

  const never = new Scripted(['aaaaaaaa', 'bbbbbbbb', 'x', 'cccccccc', 'dddddddd']);
  const gaveUp = await confirmNewPassword(never, { label: 'backup password' });
  assert.ok(!gaveUp.ok);
  assert.equal(gaveUp.error.code, 'password_rejected');
  assert.equal(never.said[1], 'the backup password is too short (at least 8 characters); try again');

  const cancelled = await confirmNewPassword(new Scripted(['long enough 1']));
  assert.deepEqual(cancelled, { ok: false, error: { code: 'cancelled', message: 'cancelled' } });
});
