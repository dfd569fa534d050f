// The bench's user, set up in-process with Connect's core: what `airlock enroll` then `airlock
// login` leave in a home, without the prompts (the bench plays the person and the phone).
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import {
  ConfigStore,
  DeviceEnrollment,
  UserKeyStore,
  airlockPaths,
  credentialsOf,
  enrollmentOf,
  generateDeviceKey,
  login,
  parseEnrollmentInput,
  type Enrollment,
  type RelayCredentials,
} from '@airlock/connect';
import { totpCodeAt } from '@airlock/relay';

/** The password of the bench user's key file; only a throwaway temp home ever holds it. */
const BENCH_PASSWORD = 'bench password, not a secret';
const TOTP_STEP_MS = 30_000;

/** Enrolls a device for `user` with the admin's one-time `code`, then logs in: `home` is ready for the CLI. */
export async function enrollAndLogin(relayUrl: string, code: string, user: string, home: string): Promise<Enrollment> {
  const target = parseEnrollmentInput(relayUrl, code);
  if (!target.ok) throw new Error(target.error.message);
  const privateKey = generateDeviceKey();
  const device = new DeviceEnrollment(target.value);
  let deviceId: string;
  let totpSecret: string;
  try {
    const begun = await device.begin(privateKey, 'bench device');
    if (!begun.ok) throw new Error(begun.error.message);
    if (!begun.value.totp) throw new Error('a new user got no TOTP secret to set up');
    totpSecret = begun.value.totp.secretBase32;
    const done = await device.complete(begun.value.enrollmentId, privateKey, totpCodeAt(totpSecret, Date.now()));
    if (!done.ok) throw new Error(done.error.message);
    deviceId = done.value.deviceId;
  } finally {
    await device.close();
  }
  const paths = airlockPaths(home);
  // Cheap scrypt: the bench measures sessions, not how long unlocking a key file takes.
  const saved = await new UserKeyStore(paths, { scryptN: 2 ** 14 }).save(privateKey, BENCH_PASSWORD);
  if (!saved.ok) throw new Error(saved.error.message);
  const store = new ConfigStore(paths);
  const enrollment: Enrollment = { relayUrl: target.value.relayUrl, relayPin: target.value.pin, user, deviceId };
  await store.writeConfig(enrollment);
  // Each time step is accepted once and enrollment used the current one: log in with the next,
  // which the relay's ±1 step window accepts.
  const res = await login({
    enrollment,
    key: saved.value.key,
    totp: totpCodeAt(totpSecret, Date.now() + TOTP_STEP_MS),
    store,
  });
  if (!res.ok) throw new Error(res.error.message);
  return enrollment;
}

/** The saved login in `home`: what `shell`, `exec` and `forward` run with. */
export async function loadCredentials(home: string): Promise<RelayCredentials> {
  const store = new ConfigStore(airlockPaths(home));
  const enrollment = enrollmentOf(await store.readConfig(), home);
  if (!enrollment.ok) throw new Error(enrollment.error.message);
  const session = await store.accessToken(enrollment.value);
  if (!session.ok) throw new Error(session.error.message);
  return credentialsOf(enrollment.value, session.value);
}

/**
 * A copy of `home` that reaches the same relay at `relayUrl` (a delay proxy in front of it). The
 * saved session only counts for the relay URL it names, so both files are rewritten; the pin, the
 * token and the client certificate it is bound to stay as they are.
 */
export function homeVia(home: string, copy: string, relayUrl: string): void {
  mkdirSync(copy, { mode: 0o700 });
  const paths = airlockPaths(home);
  const copyPaths = airlockPaths(copy);
  for (const [from, to] of [
    [paths.config, copyPaths.config],
    [paths.session, copyPaths.session],
  ] as const) {
    const json = JSON.parse(readFileSync(from, 'utf8')) as Record<string, unknown>;
    writeFileSync(to, JSON.stringify({ ...json, relayUrl }, null, 2) + '\n', { mode: 0o600 });
  }
  for (const [from, to] of [
    [paths.userKey, copyPaths.userKey],
    [paths.userPublicKey, copyPaths.userPublicKey],
  ] as const)
    if (existsSync(from)) copyFileSync(from, to);
}
