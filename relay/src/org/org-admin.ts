import { ok } from '@airlock/shared';
import {
  OrgAnswer,
  parseAnchor,
  verifyCredential,
  verifyCrl,
  type OrgRequest,
  type PinnedAnchor,
} from '@airlock/shared/org';
import { AdminCore, fail, parseInput, type AdminResult } from '../admin/admin-core.js';
import { StoreError, type RelayStore } from '../store/types.js';

/** What `org status` and the relay's start-up line say. */
export interface OrgStatus {
  anchor?: { org: string; afp: string; roots: string[]; setAt: string };
  crl?: { seq: number; expiresAt: string; setAt: string };
}

/** The anchor the relay serves, parsed; undefined without one (a relay running without a root). */
export async function storedAnchor(store: Pick<RelayStore, 'org'>): Promise<PinnedAnchor | undefined> {
  const { anchor } = await store.org.get();
  if (!anchor) return undefined;
  const parsed = parseAnchor(anchor.text);
  return parsed.ok ? parsed.value : undefined;
}

/**
 * The relay's side of the organisation root. The relay holds nothing that signs: it keeps the
 * anchor and the newest revocation list to serve them, exports requests for codes, and stores
 * what an administrator's answer lets it hold (the hash of a code's relay secret and the public
 * credential chain). It checks what it is given against the anchor as a courtesy to the admin —
 * Connect and agents check everything again themselves.
 */
export class OrgAdmin extends AdminCore {
  async status(): Promise<OrgStatus> {
    const state = await this.store.org.get();
    const anchor = state.anchor ? parseAnchor(state.anchor.text) : undefined;
    const crl = state.crl && anchor?.ok ? await verifyCrl(anchor.value, state.crl.chain) : undefined;
    return {
      ...(anchor?.ok && state.anchor
        ? {
            anchor: {
              org: anchor.value.org,
              afp: anchor.value.afp,
              roots: anchor.value.roots.map((r) => r.fingerprint),
              setAt: state.anchor.setAt,
            },
          }
        : {}),
      ...(crl?.ok && state.crl
        ? {
            crl: {
              seq: crl.value.seq,
              expiresAt: new Date(crl.value.exp * 1000).toISOString(),
              setAt: state.crl.setAt,
            },
          }
        : {}),
    };
  }

  /**
   * Serves this anchor from now on. Replacing a different one needs `replace`: every party that
   * pinned the old one will refuse the relay's new codes' organisation until it re-enrolls.
   */
  async setAnchor(
    actor: string,
    text: string,
    replace = false,
  ): Promise<AdminResult<{ org: string; afp: string; changed: boolean }>> {
    return this.audited<{ org: string; afp: string; changed: boolean }>(
      { actor, type: 'admin.org.anchor', data: {} },
      async () => {
        const anchor = parseAnchor(text);
        if (!anchor.ok) return fail('invalid', `not an organisation anchor: ${anchor.error.message}`);
        const current = await storedAnchor(this.store);
        if (current?.afp === anchor.value.afp)
          return ok({ org: anchor.value.org, afp: anchor.value.afp, changed: false });
        if (current && !replace)
          return fail(
            'conflict',
            `this relay already serves organisation "${current.org}" (${current.afp}); parties that pinned it ` +
              'keep refusing anything else — pass --replace only when moving to a new organisation on purpose',
          );
        // Another organisation's revocation list goes with its anchor (it no longer verifies).
        await this.store.org.setAnchor(text, current !== undefined);
        return ok({ org: anchor.value.org, afp: anchor.value.afp, changed: true });
      },
      (v) => ({ afp: v.afp, changed: v.changed }),
    );
  }

  /** A request for a code (user enrollment or VM), for `airlock-org sign` on an admin workstation. */
  async request(actor: string, kind: 'user' | 'vm', sub: string): Promise<AdminResult<OrgRequest>> {
    return this.audited({ actor, type: 'admin.org.request', data: { kind, sub } }, async () => {
      const anchor = await storedAnchor(this.store);
      if (!anchor) return noAnchor();
      const known = await this.subjectKnown(kind, sub);
      if (!known.ok) return known;
      return ok({
        type: 'airlock-org-request',
        v: 1,
        kind,
        sub,
        relayUrl: this.enrollment.relayUrl,
        relayPin: this.enrollment.pin,
        afp: anchor.afp,
        createdAt: this.now().toISOString(),
      } satisfies OrgRequest);
    });
  }

  /** Stores the code an administrator signed: its relay secret's hash and its credential chain. */
  async accept(
    actor: string,
    input: unknown,
  ): Promise<AdminResult<{ kind: 'user' | 'vm'; sub: string; credential: string; expiresAt: string }>> {
    return this.audited(
      { actor, type: 'admin.org.accept', data: {} },
      async () => {
        const answer = parseInput(OrgAnswer, input);
        if (!answer.ok) return answer;
        const { kind, sub, chain, secretSha256 } = answer.value;
        const anchor = await storedAnchor(this.store);
        if (!anchor) return noAnchor();
        // The list this relay holds is checked now: a code the agents would refuse is not accepted.
        const held = (await this.store.org.get()).crl;
        const crl = held ? await verifyCrl(anchor, held.chain) : undefined;
        const cred = await verifyCredential(
          anchor,
          chain,
          { kind, sub },
          this.now().getTime(),
          crl?.ok ? crl.value : undefined,
        );
        if (!cred.ok) return fail('invalid', `the answer's credential is refused: ${cred.error.message}`);
        const known = await this.subjectKnown(kind, sub);
        if (!known.ok) return known;
        const expiresAt = new Date(cred.value.exp * 1000).toISOString();
        const created = await this.store.codes
          .create({
            kind: kind === 'user' ? 'user-enrollment' : 'agent-enrollment',
            subject: sub,
            secretSha256,
            expiresAt,
            orgChain: chain,
          })
          .then(
            () => true,
            (e: unknown) => {
              if (e instanceof StoreError && e.code === 'exists') return false;
              throw e;
            },
          );
        if (!created)
          return fail(
            'exists',
            `this answer was accepted before: the code for ${kind === 'vm' ? 'VM' : 'user'} ${sub} is already on this relay`,
            'nothing to do: the code airlock-org sign printed works once, until it expires',
          );
        return ok({ kind, sub, credential: cred.value.jti, expiresAt });
      },
      (v) => v,
    );
  }

  /** The newest revocation list, served to Connect and pushed to agents; never an older one. */
  async setCrl(actor: string, chain: unknown): Promise<AdminResult<{ seq: number; expiresAt: string }>> {
    return this.audited(
      { actor, type: 'admin.org.crl', data: {} },
      async () => {
        const anchor = await storedAnchor(this.store);
        if (!anchor) return noAnchor();
        const crl = await verifyCrl(anchor, chain);
        if (!crl.ok) return fail('invalid', `not a revocation list of this organisation: ${crl.error.message}`);
        if (!(await this.store.org.setCrl(chain as string[], crl.value.seq))) {
          const held = (await this.store.org.get()).crl?.seq;
          return fail(
            'conflict',
            `this relay already holds revocation list ${held}, not older than ${crl.value.seq}`,
            'nothing to do if it is the same list; else renew it with airlock-org crl renew (a higher number) — airlock-relay org status shows the one held',
          );
        }
        return ok({ seq: crl.value.seq, expiresAt: new Date(crl.value.exp * 1000).toISOString() });
      },
      (v) => v,
    );
  }

  private async subjectKnown(kind: 'user' | 'vm', sub: string): Promise<AdminResult<void>> {
    if (kind === 'vm') return (await this.store.vms.get(sub)) ? ok(undefined) : fail('not_found', `no VM "${sub}"`);
    const user = await this.store.users.get(sub);
    if (!user) return fail('not_found', `no user "${sub}"`);
    if (user.status !== 'active') return fail('invalid', `user "${sub}" is disabled; enable the user first`);
    return ok(undefined);
  }
}

const noAnchor = () =>
  fail('invalid', 'this relay has no organisation root; set one first: airlock-relay org set-anchor <anchor.json>');
