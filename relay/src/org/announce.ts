import type { Logger } from 'pino';
import { verifyCrl } from '@airlock/shared/org';
import type { OrgView } from './org-view.js';

const WARN_BEFORE_EXPIRY_S = 3 * 24 * 3600;

/**
 * Says at every start which trust mode the relay runs in. Without an organisation root the relay
 * is trusted with identities (migration mode); with one, a revocation list that is missing or
 * close to its end is said too, because certified sessions stop when it lapses.
 */
export async function announceOrgRoot(org: OrgView, logger: Logger, now: () => number): Promise<void> {
  const anchor = await org.anchor();
  if (!anchor) {
    logger.warn(
      { trust: 'relay-only' },
      'running WITHOUT an organisation root: whoever holds this relay can impersonate users to VMs and VMs to users (see README, organisation root)',
    );
    return;
  }
  const served = await org.crl();
  const crl = served ? await verifyCrl(anchor, served.chain) : undefined;
  const base = { trust: 'org-root', org: anchor.org, afp: anchor.afp };
  if (!crl?.ok) {
    logger.warn(
      base,
      'organisation root set but no revocation list: certified sessions are refused until one is set (airlock-relay org set-crl)',
    );
    return;
  }
  const left = crl.value.exp - Math.floor(now() / 1000);
  const fields = { ...base, crlSeq: crl.value.seq, crlExpiresAt: new Date(crl.value.exp * 1000).toISOString() };
  if (left < WARN_BEFORE_EXPIRY_S)
    logger.warn(
      fields,
      'the revocation list expires within 3 days: renew it (airlock-org crl renew, then airlock-relay org set-crl)',
    );
  else logger.info(fields, 'organisation root');
}
