import type { RequestHandler } from 'express';
import type { OrgInfoResponse } from '@airlock/shared';
import type { OrgView } from './org-view.js';

/**
 * `GET /api/v1/org`, public: the anchor's bytes and the newest revocation list. A party takes the
 * anchor only if it hashes to the fingerprint its code pinned, and a list only if the anchor's
 * roots signed it; so serving them to anyone gives nothing away and vouches for nothing.
 */
export function orgInfoRoute(org: OrgView): RequestHandler {
  return async (_req, res) => {
    const [anchor, crl] = await Promise.all([org.anchor(), org.crl()]);
    const body: OrgInfoResponse = { anchor: anchor?.text ?? null, crl: crl?.chain ?? null };
    res.setHeader('cache-control', 'no-store');
    res.json(body);
  };
}
