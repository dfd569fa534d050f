import type { OrgIo } from './cli-error.js';
import { ORG_FILES, type OrgDir } from './org-dir.js';
import { access } from 'node:fs/promises';

export async function showOrg(dir: OrgDir, io: OrgIo): Promise<void> {
  const anchor = await dir.anchor();
  const here = async (name: string) =>
    access(dir.file(name)).then(
      () => 'key in this folder',
      () => 'key not here',
    );
  io.out(`organisation  ${anchor.org}`);
  io.out(`fingerprint   ${anchor.afp}   (every u2/a2 code carries it)`);
  io.out(`primary root  ${anchor.roots[0]!.fingerprint}  (${await here(ORG_FILES.primary)})`);
  for (const r of anchor.roots.slice(1)) io.out(`backup root   ${r.fingerprint}  (${await here(ORG_FILES.backup)})`);
  const approvers = await dir.approvers();
  io.out(`approvers     ${approvers.length ? approvers.join(', ') : '-'}`);
  const crl = await dir.crl(anchor);
  io.out(
    crl
      ? `revocation    list ${crl.claims.seq}, valid until ${new Date(crl.claims.exp * 1000).toISOString()}`
      : 'revocation    none yet (airlock-org crl renew)',
  );
}

export async function showIssued(dir: OrgDir, sub: string | undefined, io: OrgIo): Promise<void> {
  // A folder with no organisation is a wrong --dir, not an organisation that issued nothing.
  await dir.anchor();
  const all = (await dir.issued()).filter((e) => sub === undefined || e.sub === sub);
  if (all.length === 0) return io.out('no credentials issued from this folder');
  for (const e of all)
    io.out(`${e.at}  ${e.kind.padEnd(4)}  ${e.sub.padEnd(20)}  ${e.jti}  until ${e.expiresAt}  by ${e.by}`);
}
