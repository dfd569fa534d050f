import { writeFileAtomic } from '@airlock/shared';
import { generateEd25519, issueApprover, type ApproverPower } from '@airlock/shared/org';
import { CliError, type OrgIo } from './cli-error.js';
import { ORG_FILES, type OrgDir } from './org-dir.js';
import type { PasswordSource } from './passwords.js';

/**
 * `airlock-org approver add <name>`: a key for one admin, certified by a root for what it may
 * sign. Approvers sign codes and revocation lists day to day so the roots can stay offline.
 */
export async function addApprover(
  dir: OrgDir,
  o: {
    name: string;
    can: ApproverPower[];
    days: number;
    key?: string;
    rootPassword: PasswordSource;
    newPassword: PasswordSource;
  },
  io: OrgIo,
): Promise<void> {
  const anchor = await dir.anchor();
  const root = await dir.signer(anchor, o.key, o.rootPassword);
  if (root.chain.length > 0) throw new CliError('only a root may certify an approver', 'pass a root key with --key');
  const name = `${ORG_FILES.approvers}/${o.name}`;
  const password = await o.newPassword.create(`approver ${o.name}`);
  const key = generateEd25519();
  const cert = await issueApprover(root.key, { sub: o.name, key, can: o.can, seconds: o.days * 86_400 });
  const keyPath = await dir.writeKey(`${name}.key`, key, password);
  await writeFileAtomic(dir.file(`${name}.cert`), `${cert}\n`, 0o644);
  io.out(`approver ${o.name} may sign: ${o.can.join(', ')} for ${o.days} days`);
  io.out(`  key ${keyPath} (give it to ${o.name}; sign with --key ${keyPath})`);
}
