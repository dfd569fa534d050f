// Run by keychain.test.ts inside `dbus-run-session` with a throwaway gnome-keyring (or with no
// D-Bus at all): exercises the real OS keychain through keytar and prints one JSON report.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ConfigStore } from '../identity/config-store.js';
import { KeychainCache, probeKeychain } from '../identity/keytar-secret-cache.js';
import { airlockPaths } from '../paths.js';
import { PromptError, type Prompter } from '../identity/prompter.js';
import { UserKeyStore } from '../identity/user-key-store.js';
import { UserKeyVault } from '../identity/user-key-vault.js';

const [mode, home] = process.argv.slice(2);
if (!home) throw new Error('usage: keychain-child.ts probe-only|full <home>');

const report: Record<string, unknown> = {};
const started = performance.now();
report.probe = await probeKeychain({ timeoutMs: 2000 });
report.probeMs = Math.round(performance.now() - started);

/** `secret-tool` reads the Secret Service directly: proof the entry is in the keyring, not only in keytar. */
function secretTool(account: string): string | null {
  try {
    return execFileSync('secret-tool', ['lookup', 'service', 'airlock', 'account', account], { encoding: 'utf8' });
  } catch {
    return null;
  }
}

if (mode === 'full') {
  const cache = new KeychainCache({ home, user: 'alice' });
  const unlockKey = randomBytes(32);
  report.setOk = (await cache.set(unlockKey)).ok;
  const got = await cache.get();
  report.readBack = got.ok && got.value?.equals(unlockKey);
  report.secretTool = secretTool(cache.account) === unlockKey.toString('base64');
  const deleted = await cache.delete();
  report.deleted = deleted.ok && deleted.value;
  const gone = await cache.get();
  report.goneAfterDelete = gone.ok && gone.value === undefined;
  report.secretToolAfterDelete = secretTool(cache.account);

  // The vault on the real keychain: remember, unlock without asking, change password, forget.
  const paths = airlockPaths(home);
  const vault = new UserKeyVault(new UserKeyStore(paths, { scryptN: 2 ** 14 }), new ConfigStore(paths));
  const refuse: Prompter = {
    password: () => Promise.reject(new PromptError({ code: 'cancelled', message: 'must not be asked' })),
    text: () => Promise.reject(new PromptError({ code: 'cancelled', message: 'must not be asked' })),
    info: () => undefined,
  };
  const created = await vault.create(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'password one', {
    keychain: cache,
    remember: true,
  });
  report.createdRemembered = created.ok && created.value.remembered;
  const silent = await vault.unlock(refuse, { keychain: cache });
  report.unlockSource = silent.ok ? silent.value.source : silent.error.code;
  const changed = await vault.changePassword('password one', 'password two', { keychain: cache });
  report.changeKeychain = changed.ok ? changed.value.keychain : changed.error.code;
  const after = await vault.unlock(refuse, { keychain: cache });
  report.unlockAfterChange = after.ok ? after.value.source : after.error.code;
  report.forgot = (await cache.delete()).ok;
  const asked = await vault.unlock(refuse, { keychain: cache });
  report.unlockAfterForget = asked.ok ? asked.value.source : asked.error.code;
}

process.stdout.write(JSON.stringify(report) + '\n');
// keytar may leave a D-Bus connection open; the report is out, so leave now.
process.exit(0);
