/**
 * A test stand-in for the person at the keyboard, used as AIRLOCK_ASKPASS: answers password
 * prompts with AIRLOCK_TEST_PASSWORD and authenticator prompts with a TOTP code computed from
 * the secret in the relay's SQLite file (read-only) — the secret a phone would hold. It picks the
 * earliest time step the relay has not burnt yet and still accepts for a while, waiting for the
 * next step if it must (AIRLOCK_TEST_TOTP_NAIVE: the current step's code, as a phone shows it).
 * Its clock is the relay's: AIRLOCK_TEST_CLOCK_OFFSET_MS when a test has moved the relay's clock.
 */
import Database from 'better-sqlite3';
import { totpCodeAt } from '@airlock/relay';
import { firstUsableTotpStep } from './totp-step.js';

const prompt = process.argv[2] ?? '';
const env = process.env;

function fail(message: string): never {
  process.stderr.write(`askpass: ${message}\n`);
  process.exit(1);
}

if (/code|totp|authenticator/i.test(prompt) && env.AIRLOCK_TEST_TOTP_OVERRIDE) {
  // A person typing a wrong code (brute-force and wrong-code tests).
  process.stdout.write(env.AIRLOCK_TEST_TOTP_OVERRIDE + '\n');
} else if (/code|totp|authenticator/i.test(prompt)) {
  const dbPath = env.AIRLOCK_TEST_RELAY_DB ?? fail('AIRLOCK_TEST_RELAY_DB is not set');
  const user = env.AIRLOCK_TEST_USER ?? fail('AIRLOCK_TEST_USER is not set');
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  const row = db
    .prepare('SELECT totp_secret, totp_confirmed_at, totp_last_used_step FROM users WHERE name = ?')
    .get(user) as
    { totp_secret: string | null; totp_confirmed_at: string | null; totp_last_used_step: number } | undefined;
  if (!row) fail(`no user ${user} in ${dbPath}`);
  let secret = row.totp_confirmed_at ? row.totp_secret : null;
  if (!secret) {
    const pending = db
      .prepare('SELECT new_totp_secret FROM pending_enrollments WHERE user_name = ? ORDER BY created_at DESC LIMIT 1')
      .get(user) as { new_totp_secret: string | null } | undefined;
    secret = pending?.new_totp_secret ?? null;
  }
  db.close();
  if (!secret) fail(`user ${user} has no TOTP secret yet`);
  const offsetMs = Number(env.AIRLOCK_TEST_CLOCK_OFFSET_MS ?? 0);
  const now = () => Date.now() + offsetMs;
  const current = Math.floor(now() / 30_000);
  // NAIVE: what a phone or `oathtool` shows right now, used or not (the reused-code tests).
  const target = env.AIRLOCK_TEST_TOTP_NAIVE
    ? current
    : Math.max(firstUsableTotpStep(now()), row.totp_last_used_step + 1);
  // The relay accepts one step either side of its clock: wait until `target` is within reach.
  const waitMs = Math.max(0, (target - 1) * 30_000 - now() + 50);
  if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
  process.stdout.write(totpCodeAt(secret, target * 30_000) + '\n');
} else if (/password/i.test(prompt)) {
  process.stdout.write((env.AIRLOCK_TEST_PASSWORD ?? fail('AIRLOCK_TEST_PASSWORD is not set')) + '\n');
} else {
  fail(`unexpected prompt: ${prompt}`);
}
