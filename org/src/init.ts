import { access } from 'node:fs/promises';
import { EMPTY_REVOKED, generateEd25519, issueCrl, makeAnchorText, parseAnchor } from '@airlock/shared/org';
import { writeFileAtomic } from '@airlock/shared';
import { CliError, type OrgIo } from './cli-error.js';
import { ORG_FILES, type OrgDir } from './org-dir.js';
import type { PasswordSource } from './passwords.js';

const DAY = 86_400;

/**
 * `airlock-org init`: two roots (primary and backup, each under its own password), the anchor
 * holding both, and revocation list 1 (empty). Refuses a folder that already holds an
 * organisation: a second init would make a new one, and every pin would change.
 */
export async function initOrg(
  dir: OrgDir,
  o: { org: string; primary: PasswordSource; backup: PasswordSource; crlDays: number },
  io: OrgIo,
): Promise<void> {
  const exists = await access(dir.file(ORG_FILES.anchor)).then(
    () => true,
    () => false,
  );
  if (exists)
    throw new CliError(
      `${dir.path} already holds an organisation`,
      'each init makes a new organisation with a new fingerprint; use another --dir if that is what you want',
    );
  const primaryPassword = await o.primary.create('the primary root key');
  const backupPassword = await o.backup.create('the backup root key');
  const roots = [generateEd25519(), generateEd25519()];
  await dir.create();
  const text = makeAnchorText(o.org, roots);
  const anchor = parseAnchor(text);
  if (!anchor.ok) throw new Error(anchor.error.message);
  await dir.writeKey(ORG_FILES.primary, roots[0]!, primaryPassword);
  const backupPath = await dir.writeKey(ORG_FILES.backup, roots[1]!, backupPassword);
  await writeFileAtomic(dir.file(ORG_FILES.anchor), text, 0o644);
  const crl = await issueCrl(
    { key: roots[0]!, chain: [] },
    { seq: 1, revoked: EMPTY_REVOKED, seconds: o.crlDays * DAY },
  );
  const crlPath = await dir.writeCrl(crl.chain);
  const a = anchor.value;
  io.out(`organisation "${a.org}" created in ${dir.path}`);
  io.out(`anchor fingerprint (afp): ${a.afp}`);
  io.out(`  primary root ${a.roots[0]!.fingerprint}`);
  io.out(`  backup root  ${a.roots[1]!.fingerprint}  (${backupPath})`);
  io.out('next:');
  io.out(`  1. copy ${backupPath} to offline storage (with its password kept apart), then delete it here`);
  io.out(`  2. on the relay host: airlock-relay org set-anchor anchor.json; airlock-relay org set-crl crl.json`);
  io.out(`     (copy ${dir.file(ORG_FILES.anchor)} and ${crlPath}; both are public)`);
  io.out(
    `  3. renew the revocation list before ${new Date(crl.claims.exp * 1000).toISOString()}: airlock-org crl renew`,
  );
}
