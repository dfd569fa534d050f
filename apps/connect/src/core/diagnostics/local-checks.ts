import { stat } from 'node:fs/promises';
import { sshFingerprintFromPem } from '@airlock/shared';
import { ConfigStore, enrollmentOf, type Enrollment } from '../identity/config-store.js';
import type { SecretCache } from '../identity/secret-cache.js';
import { UserKeyStore } from '../identity/user-key-store.js';
import type { AirlockPaths } from '../paths.js';
import { fail, pass, warn, type CheckRecorder, type CheckResult } from './check-recorder.js';

/**
 * The checks on this machine alone: the config names an enrollment (else nothing further can be
 * checked), the key file is there and sealed, no file is open to other users, the keychain works.
 * Returns the enrollment, or undefined when the run must stop.
 */
export async function localChecks(
  rec: CheckRecorder,
  options: { paths: AirlockPaths; secretCache: (user: string | undefined) => SecretCache; platform: NodeJS.Platform },
): Promise<Enrollment | undefined> {
  const { paths } = options;
  let enrollment: Enrollment | undefined;
  const config = await rec.run('config', async () => {
    const read = await readEnrollment(paths);
    if (!read.ok) return read.result;
    enrollment = read.enrollment;
    const { user, relayUrl, deviceId } = read.enrollment;
    return pass(`enrolled as ${user} with ${relayUrl} (device ${deviceId}); ${paths.config}`);
  });
  if (config.status === 'fail') {
    rec.stop('config', 'without an enrollment there is no relay or login to check');
    return undefined;
  }

  await rec.run('key_file', async () => {
    const key = await new UserKeyStore(paths).publicKey();
    if (key.ok)
      return pass(
        `your key file is there and sealed with your password; key ${sshFingerprintFromPem(key.value.publicKeyPem)}`,
      );
    switch (key.error.code) {
      case 'no_user_key':
        return fail(
          'no_user_key',
          `${key.error.message}: this device cannot log in again once the current login ends`,
          'restore your key: airlock backup import <file>; without a backup, ask your admin for a new enrollment code',
        );
      case 'user_key_unencrypted':
        return fail(
          'user_key_unencrypted',
          key.error.message,
          'move the unencrypted key away, then airlock backup import <file> or enroll again',
        );
      default:
        return fail(
          'user_key_unreadable',
          key.error.message,
          'restore your key from a backup (airlock backup import <file> --force) or ask your admin for a new enrollment code',
        );
    }
  });

  await rec.run('permissions', () => permissionsCheck(paths, options.platform));

  await rec.run('keychain', async () => {
    const cache = options.secretCache(enrollment?.user);
    const status = await cache.status();
    if (!status.available)
      return warn(
        'keychain_unavailable',
        `${cache.backend} cannot keep your password here: ${status.reason}`,
        'Connect works without it: you type your password at each login',
      );
    const remembered = await cache.get();
    const what = remembered.ok && remembered.value ? 'remembers your password' : 'does not remember your password';
    return pass(`${cache.backend} works and ${what} on this device`);
  });
  return enrollment;
}

async function readEnrollment(
  paths: AirlockPaths,
): Promise<{ ok: true; enrollment: Enrollment } | { ok: false; result: CheckResult }> {
  let config;
  try {
    config = await new ConfigStore(paths).readConfig();
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return {
      ok: false,
      result: fail(
        'config_unreadable',
        `cannot use ${paths.config}: ${why}`,
        'fix or remove the file, then enroll again (airlock enroll) or restore a backup (airlock backup import)',
      ),
    };
  }
  const enrollment = enrollmentOf(config, paths.home);
  if (enrollment.ok) return { ok: true, enrollment: enrollment.value };
  return {
    ok: false,
    result: fail(
      'not_enrolled',
      enrollment.error.message,
      'enroll with the code from your admin: airlock enroll <relay-url>; or restore a backup: airlock backup import <file>',
    ),
  };
}

/** Group and other bits off on the home folder and the secret files (POSIX modes; Windows has ACLs). */
async function permissionsCheck(paths: AirlockPaths, platform: NodeJS.Platform): Promise<CheckResult> {
  if (platform === 'win32')
    return pass('file modes are not checked on Windows (the folder inherits your profile’s ACL)');
  const wanted: Array<[string, number]> = [
    [paths.home, 0o700],
    [paths.userKey, 0o600],
    [paths.session, 0o600],
  ];
  const open: string[] = [];
  const fixes: string[] = [];
  for (const [path, mode] of wanted) {
    let actual: number;
    try {
      actual = (await stat(path)).mode & 0o777;
    } catch {
      continue; // absent files are the other checks' business
    }
    if ((actual & 0o077) !== 0) {
      open.push(`${path} (mode ${actual.toString(8).padStart(4, '0')})`);
      fixes.push(`chmod ${mode.toString(8)} ${path}`);
    }
  }
  if (open.length === 0) return pass(`only you can read ${paths.home} and the key and login files in it`);
  return fail('too_open', `other users of this machine may read ${open.join(', ')}`, fixes.join('; '));
}
