import express, { type RequestHandler, type Router } from 'express';
import { SelfExplainQuery } from '@airlock/shared';
import type { Helpdesk } from '../helpdesk/helpdesk.js';
import { HttpError } from './http-error.js';
import type { CallerIdentity } from './require-access-token.js';

/**
 * `GET /api/v1/explain?vm=&port=`: the logged-in user's own "may I reach this VM (and port)
 * now, and if not, why" — what `airlock doctor` asks. Only the caller's access is described.
 */
export function createSelfExplainRouter(deps: { auth: RequestHandler; helpdesk: Helpdesk }): Router {
  const r = express.Router();
  r.get('/explain', deps.auth, async (req, res) => {
    const caller = res.locals.caller as CallerIdentity;
    const q = SelfExplainQuery.safeParse(req.query);
    if (!q.success)
      throw new HttpError(
        400,
        'bad_request',
        q.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(query)'}: ${i.message}`).join('; '),
      );
    const result = await deps.helpdesk.explainForUser(caller.user, q.data);
    if (!result.ok) throw new HttpError(400, 'bad_request', result.error.message);
    res.json(result.value);
  });
  return r;
}
