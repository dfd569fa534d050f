/**
 * The organisation root for cross-program tests: an organisation made in memory (its root keys
 * stay in the test, as they stay on an admin workstation), its anchor and first revocation list
 * set on the relay, and codes made as `airlock-org sign` makes them — the relay gets only the
 * hash of the relay secret and the public credential chain, through `OrgAdmin.accept`.
 */
import { formatOrgCode } from '@airlock/shared';
import { makeTestOrg, type TestOrg } from '@airlock/shared/testing';
import { OrgAdmin, type Relay } from '@airlock/relay';

export interface OrgSetup {
  org: TestOrg;
  admin: OrgAdmin;
  /** A one-time v2 code for a user or a VM the relay knows. */
  code(kind: 'user' | 'vm', sub: string): Promise<string>;
  /** Signs revocation list `seq` and sets it on the relay (agents get it pushed). */
  setCrl(seq: number, revoked?: Parameters<TestOrg['crl']>[1]): Promise<string[]>;
}

export async function setUpOrg(relay: Relay): Promise<OrgSetup> {
  const org = await makeTestOrg('Integration Org');
  const admin = new OrgAdmin({
    store: relay.store,
    audit: relay.audit,
    enrollment: { relayUrl: relay.url, pin: relay.tls.pin },
  });
  const check = <T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  check(await admin.setAnchor('test', org.anchor.text));
  const setCrl = async (seq: number, revoked?: Parameters<TestOrg['crl']>[1]) => {
    const chain = await org.crl(seq, revoked);
    check(await admin.setCrl('test', chain));
    return chain;
  };
  await setCrl(1);
  return {
    org,
    admin,
    setCrl,
    async code(kind, sub) {
      const { key, answer } = await org.code(kind, sub);
      check(await admin.accept('test', answer));
      return formatOrgCode(kind === 'user' ? 'user' : 'agent', key, relay.tls.pin, org.anchor.afp);
    },
  };
}
