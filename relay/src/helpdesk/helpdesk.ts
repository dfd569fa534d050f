import {
  ExplainQuery,
  SelfExplainQuery,
  SessionShowParam,
  ok,
  type ExplainReport,
  type SelfExplainReport,
  type SessionDetail,
} from '@airlock/shared';
import { fail, parseInput, type AdminResult } from '../admin/admin-core.js';
import { explainAccess, type ExplainDeps } from './explain.js';
import { explainForUser } from './self-explain.js';
import { sessionDetail, type LiveBytes } from './session-detail.js';

/**
 * What helpdesk asks the relay, shared by the `airlock-relay` CLI and the REST API like the
 * AdminService: input is validated here (an `invalid` failure names the field), an unknown
 * session is `not_found`. Nothing here changes anything, so nothing is audited.
 */
export class Helpdesk {
  constructor(private readonly deps: ExplainDeps & { live?: LiveBytes }) {}

  /** `airlock-relay explain <user> <vm> [--port]`, `GET /api/v1/admin/explain?user=&vm=&port=`. */
  async explain(query: unknown): Promise<AdminResult<ExplainReport>> {
    const q = parseInput(ExplainQuery, query);
    return q.ok ? ok(await explainAccess(this.deps, q.value)) : q;
  }

  /** `GET /api/v1/explain?vm=&port=`: the caller's own access, in the caller's terms. */
  async explainForUser(user: string, query: unknown): Promise<AdminResult<SelfExplainReport>> {
    const q = parseInput(SelfExplainQuery, query);
    return q.ok ? ok(await explainForUser(this.deps, user, q.value)) : q;
  }

  /** `airlock-relay session show <id>`, `GET /api/v1/admin/sessions/<id>`. */
  async session(id: string): Promise<AdminResult<SessionDetail>> {
    const input = parseInput(SessionShowParam, { id });
    if (!input.ok) return input;
    const detail = await sessionDetail(this.deps, input.value.id);
    return detail ? ok(detail) : fail('not_found', `no session "${id}"`);
  }
}
