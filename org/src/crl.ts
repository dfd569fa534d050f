import type * as z from 'zod';
import { UserName, VmId } from '@airlock/shared';
import { EMPTY_REVOKED, issueCrl, Jti, KeyFingerprint, verifyCrl, type RevokedLists } from '@airlock/shared/org';
import { CliError, type OrgIo } from './cli-error.js';
import type { OrgDir } from './org-dir.js';
import type { PasswordSource } from './passwords.js';

export type RevocableKind = 'key' | 'cred' | 'user' | 'vm';
const LIST: Record<RevocableKind, keyof RevokedLists> = { key: 'keys', cred: 'creds', user: 'users', vm: 'vms' };
const SCHEMA: Record<RevocableKind, z.ZodType<string>> = { key: KeyFingerprint, cred: Jti, user: UserName, vm: VmId };
const WHAT: Record<RevocableKind, string> = {
  key: 'a key fingerprint (SHA256:…; `airlock-relay device list` shows device keys)',
  cred: 'a credential id (`airlock-org issued` lists them)',
  user: 'a user name',
  vm: 'a VM id',
};

export interface CrlChange {
  op: 'revoke' | 'unrevoke';
  kind: RevocableKind;
  values: string[];
}

/**
 * Signs the next revocation list (`seq` + 1): with a change, or unchanged (`renew`, which only
 * moves its expiry). Parties take a list only if its `seq` is higher than the one they hold.
 */
export async function nextCrl(
  dir: OrgDir,
  o: { change?: CrlChange; days: number; key?: string; password: PasswordSource },
  io: OrgIo,
): Promise<void> {
  const anchor = await dir.anchor();
  const current = await dir.crl(anchor);
  const lists: RevokedLists = structuredClone(current?.claims.revoked ?? EMPTY_REVOKED);
  if (o.change) {
    const { kind, values, op } = o.change;
    for (const v of values) if (!SCHEMA[kind].safeParse(v).success) throw new CliError(`"${v}" is not ${WHAT[kind]}`);
    const list = new Set(lists[LIST[kind]]);
    for (const v of values) {
      if (op === 'revoke') list.add(v);
      else if (!list.delete(v)) throw new CliError(`${v} is not revoked`, 'see the list with `airlock-org crl show`');
    }
    lists[LIST[kind]] = [...list].sort();
  }
  const signer = await dir.signer(anchor, o.key, o.password);
  const seq = (current?.claims.seq ?? 0) + 1;
  const issued = await issueCrl(signer, { seq, revoked: lists, seconds: o.days * 86_400 });
  const checked = await verifyCrl(anchor, issued.chain);
  if (!checked.ok) throw new CliError(`${signer.name} cannot sign revocation lists: ${checked.error.message}`);
  const path = await dir.writeCrl(issued.chain);
  const change = o.change ? `${o.change.op}d ${o.change.kind} ${o.change.values.join(', ')}` : 'renewed, unchanged';
  io.out(`revocation list ${seq} (${change}), valid until ${new Date(issued.claims.exp * 1000).toISOString()}`);
  io.out(`  upload it: airlock-relay org set-crl ${path}`);
}

export async function showCrl(dir: OrgDir, json: boolean, io: OrgIo): Promise<void> {
  const anchor = await dir.anchor();
  const current = await dir.crl(anchor);
  if (!current) throw new CliError('this organisation has no revocation list yet', 'sign one: airlock-org crl renew');
  const c = current.claims;
  if (json) return io.out(JSON.stringify(c, null, 2));
  io.out(
    `revocation list ${c.seq}, signed ${new Date(c.iat * 1000).toISOString()}, valid until ${new Date(c.exp * 1000).toISOString()}`,
  );
  for (const kind of Object.keys(LIST) as RevocableKind[]) {
    const values = c.revoked[LIST[kind]];
    io.out(`  ${LIST[kind].padEnd(5)} ${values.length ? values.join(', ') : '-'}`);
  }
}
