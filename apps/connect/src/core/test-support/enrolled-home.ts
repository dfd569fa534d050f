import { ConfigStore, type Enrollment } from '../identity/config-store.js';
import { DeviceEnrollment, generateDeviceKey, parseEnrollmentInput } from '../enrollment/enroll.js';
import { login } from '../login/login.js';
import { airlockPaths } from '../paths.js';
import { UserKeyStore } from '../identity/user-key-store.js';
import { totpFor, type FakeRelay } from './fake-relay.js';

export const TEST_PASSWORD = 'correct horse battery';

/**
 * What `airlock enroll` then `airlock login` leave in `home`, done in-process (no prompts): an
 * encrypted key under TEST_PASSWORD (cheap scrypt), config.json, and a session unless `login` is false.
 */
export async function enrolledHome(
  relay: FakeRelay,
  home: string,
  options: { user?: string; login?: boolean } = {},
): Promise<Enrollment> {
  const user = options.user ?? 'alice';
  const target = parseEnrollmentInput(relay.url, relay.enrollmentCode(user));
  if (!target.ok) throw new Error(target.error.message);
  const privateKey = generateDeviceKey();
  const enrollment = new DeviceEnrollment(target.value);
  let deviceId: string;
  try {
    const begun = await enrollment.begin(privateKey, 'test device');
    if (!begun.ok) throw new Error(begun.error.message);
    const code = totpFor(relay.totpSecret(user)!).generate();
    const done = await enrollment.complete(begun.value.enrollmentId, privateKey, code);
    if (!done.ok) throw new Error(done.error.message);
    deviceId = done.value.deviceId;
  } finally {
    await enrollment.close();
  }
  const paths = airlockPaths(home);
  const saved = await new UserKeyStore(paths, { scryptN: 2 ** 14 }).save(privateKey, TEST_PASSWORD);
  if (!saved.ok) throw new Error(saved.error.message);
  const store = new ConfigStore(paths);
  const enrolled: Enrollment = { relayUrl: relay.url, relayPin: relay.pin, user, deviceId };
  await store.writeConfig(enrolled);
  if (options.login !== false) {
    const res = await login({
      enrollment: enrolled,
      key: saved.value.key,
      totp: totpFor(relay.totpSecret(user)!).generate(),
      store,
    });
    if (!res.ok) throw new Error(res.error.message);
  }
  return enrolled;
}
