import express, { type Request, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import type * as z from 'zod';
import {
  AuditQueryParams,
  ClientIdParam,
  CreateClientBody,
  CreateUserBody,
  CreateVmBody,
  DeleteGrantQuery,
  DevicesQuery,
  ExplainQuery,
  GrantsQuery,
  PutGrantBody,
  SessionIdParam,
  SessionsQuery,
  SourceAddressParam,
  SetVmPortsBody,
  UserNameParam,
  UuidParam,
  VmIdParam,
  type AdminTokenIssuer,
  type HeldSource,
  type AdminTokenVerifier,
} from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { RefusalAuditBudget } from '../audit/refusal-budget.js';
import { HttpError, errorHandler } from '../control/http-error.js';
import type { Helpdesk } from '../helpdesk/helpdesk.js';
import type { RelayStore } from '../store/types.js';
import type { AdminFailure, AdminResult } from './admin-core.js';
import { storedAnchor } from '../org/org-admin.js';
import {
  adminCaller,
  refuseRelayCodesUnderRoot,
  requireAdminClient,
  requireScope,
  tokenEndpoint,
} from './admin-auth.js';
import type { AdminService } from './admin-service.js';

export interface AdminRouterDeps {
  service: AdminService;
  /** explain and session detail (read-only, scope sessions.read). */
  helpdesk: Helpdesk;
  store: RelayStore;
  verifier: AdminTokenVerifier;
  issuer: AdminTokenIssuer;
  audit: AuditRecorder;
  logger: Logger;
  /** Lifetime of issued admin tokens; default ADMIN_TOKEN_TTL_SECONDS (10 min). */
  tokenTtlSeconds?: number;
  /** Audits refused admin tokens within a per-source budget (shared with the user API's). */
  refusals: RefusalAuditBudget;
  /** Runs before `POST /token` (the relay's rate limiter plugs in here). */
  tokenRateLimit?: RequestHandler;
  /** The source addresses the running relay refuses now (its per-source limits, in its memory): some, and how many. */
  heldSources(): { at: string; sources: HeldSource[]; total: number };
}

type Where = 'body' | 'query' | 'path';

/** Parses one part of the request; the 400 names the field (or the part, for unknown keys). */
function parse<T>(schema: z.ZodType<T>, value: unknown, where: Where): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const message = r.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : `(${where})`}: ${i.message}`)
    .join('; ');
  throw new HttpError(400, 'bad_request', message);
}

const STATUS: Record<AdminFailure['code'], [number, string]> = {
  exists: [409, 'exists'],
  not_found: [404, 'not_found'],
  invalid: [400, 'bad_request'],
  conflict: [409, 'conflict'],
};

function unwrap<T>(r: AdminResult<T>): T {
  if (r.ok) return r.value;
  const [status, code] = STATUS[r.error.code];
  throw new HttpError(status, code, r.error.message);
}

/**
 * The admin REST API, mounted by the relay at `/api/v1/admin` behind its JSON body parser.
 * `POST /token` is open (client credentials); everything else needs an admin bearer token with
 * the route's scope, and the client must still exist and not be revoked.
 */
export function createAdminRouter(deps: AdminRouterDeps): Router {
  const { service, audit } = deps;
  const r = express.Router();
  // RFC 6749 §4.4.2 token requests are form-encoded; JSON is parsed by the parent router.
  r.use(express.urlencoded({ extended: false, limit: 4096, parameterLimit: 20 }));

  r.post(
    '/token',
    deps.tokenRateLimit ?? ((_req, _res, next) => next()),
    tokenEndpoint({
      service,
      issuer: deps.issuer,
      audit,
      ...(deps.tokenTtlSeconds !== undefined ? { ttlSeconds: deps.tokenTtlSeconds } : {}),
    }),
  );

  r.use(requireAdminClient({ verifier: deps.verifier, clients: deps.store.apiClients, refusals: deps.refusals }));
  const scope = (s: Parameters<typeof requireScope>[0]) => requireScope(s, audit);
  const noCodesUnderRoot = refuseRelayCodesUnderRoot(async () => (await storedAnchor(deps.store)) !== undefined, audit);
  const actor = (res: express.Response) => adminCaller(res).actor;
  const name = (req: Request) => parse(UserNameParam, req.params, 'path').name;
  const vmId = (req: Request) => parse(VmIdParam, req.params, 'path').id;
  const uuid = (req: Request) => parse(UuidParam, req.params, 'path').id;

  // --- users and devices ---
  r.get('/users', scope('users.read'), async (_req, res) => void res.json({ users: await service.listUsers() }));
  r.get('/users/:name', scope('users.read'), async (req, res) => {
    res.json({ user: unwrap(await service.getUser(name(req))) });
  });
  r.post('/users', scope('users.write'), noCodesUnderRoot, async (req, res) => {
    const body = parse(CreateUserBody, req.body, 'body');
    res.status(201).json(unwrap(await service.createUser(actor(res), body.name)));
  });
  r.post('/users/:name/disable', scope('users.write'), async (req, res) => {
    res.json(unwrap(await service.disableUser(actor(res), name(req))));
  });
  r.post('/users/:name/enable', scope('users.write'), async (req, res) => {
    res.json(unwrap(await service.enableUser(actor(res), name(req))));
  });
  r.post('/users/:name/unlock', scope('users.write'), async (req, res) => {
    res.json(unwrap(await service.unlockUser(actor(res), name(req))));
  });
  // Source addresses are otherwise seen only in the audit log: the same scope.
  r.get('/sources', scope('audit.read'), (_req, res) => void res.json(deps.heldSources()));
  r.post('/sources/:address/unlock', scope('users.write'), async (req, res) => {
    res.json(unwrap(await service.unlockSource(actor(res), parse(SourceAddressParam, req.params, 'path').address)));
  });
  r.post('/users/:name/revoke', scope('users.write'), async (req, res) => {
    res.json(unwrap(await service.revokeUser(actor(res), name(req))));
  });
  r.post('/users/:name/enrollment-codes', scope('users.write'), noCodesUnderRoot, async (req, res) => {
    res.status(201).json(unwrap(await service.newEnrollmentCode(actor(res), name(req))));
  });
  r.get('/devices', scope('users.read'), async (req, res) => {
    const q = parse(DevicesQuery, req.query, 'query');
    res.json({ devices: await service.listDevices(q.user) });
  });
  r.post('/devices/:id/revoke', scope('users.write'), async (req, res) => {
    res.json(unwrap(await service.revokeDevice(actor(res), uuid(req))));
  });

  // --- VMs and agent credentials ---
  r.get('/vms', scope('vms.read'), async (_req, res) => void res.json({ vms: await service.listVms() }));
  r.post('/vms', scope('vms.write'), noCodesUnderRoot, async (req, res) => {
    const body = parse(CreateVmBody, req.body, 'body');
    res.status(201).json(unwrap(await service.createVm(actor(res), body.id, body.ports)));
  });
  r.put('/vms/:id/ports', scope('vms.write'), async (req, res) => {
    const id = vmId(req);
    const body = parse(SetVmPortsBody, req.body, 'body');
    res.json(unwrap(await service.setVmPorts(actor(res), id, body.ports)));
  });
  r.post('/vms/:id/agent-tokens', scope('vms.write'), noCodesUnderRoot, async (req, res) => {
    res.status(201).json(unwrap(await service.newAgentToken(actor(res), vmId(req))));
  });
  r.get('/vms/:id/credentials', scope('vms.read'), async (req, res) => {
    res.json({ credentials: unwrap(await service.listAgentCredentials(vmId(req))) });
  });
  r.post('/agent-credentials/:id/revoke', scope('vms.write'), async (req, res) => {
    res.json(unwrap(await service.revokeAgentCredential(actor(res), uuid(req))));
  });

  // --- grants (who may reach which VM: a power of its own, not part of managing VMs) ---
  r.get('/grants', scope('grants.read'), async (req, res) => {
    const q = parse(GrantsQuery, req.query, 'query');
    res.json({
      grants: await service.listGrants({ ...(q.user ? { user: q.user } : {}), ...(q.vm ? { vm: q.vm } : {}) }),
    });
  });
  r.put('/grants', scope('grants.write'), async (req, res) => {
    const body = parse(PutGrantBody, req.body, 'body');
    res.json(unwrap(await service.putGrant(actor(res), body)));
  });
  r.delete('/grants', scope('grants.write'), async (req, res) => {
    // DELETE bodies are unusual; `?user=&vm=` is the documented form, a JSON body also works.
    const fromQuery = Object.keys(req.query as object).length > 0;
    const q = parse(DeleteGrantQuery, fromQuery ? req.query : req.body, fromQuery ? 'query' : 'body');
    unwrap(await service.deleteGrant(actor(res), q.user, q.vm));
    res.status(204).end();
  });

  // --- sessions ---
  r.get('/sessions', scope('sessions.read'), async (req, res) => {
    const q = parse(SessionsQuery, req.query, 'query');
    res.json({ sessions: await service.listSessions({ live: q.live ?? false }) });
  });
  r.get('/sessions/:id', scope('sessions.read'), async (req, res) => {
    const { id } = parse(SessionIdParam, req.params, 'path');
    res.json({ session: unwrap(await deps.helpdesk.session(id)) });
  });
  r.post('/sessions/:id/kill', scope('sessions.write'), async (req, res) => {
    const { id } = parse(SessionIdParam, req.params, 'path');
    res.status(202).json(unwrap(await service.killSession(actor(res), id)));
  });

  // --- helpdesk: may this user reach this VM (and port) now, and if not, why ---
  r.get('/explain', scope('sessions.read'), async (req, res) => {
    const q = parse(ExplainQuery, req.query, 'query');
    res.json(unwrap(await deps.helpdesk.explain(q)));
  });

  // --- API clients (admin only: a client that can mint clients can mint any scope) ---
  r.get('/clients', scope('admin'), async (_req, res) => void res.json({ clients: await service.listClients() }));
  r.post('/clients', scope('admin'), async (req, res) => {
    const body = parse(CreateClientBody, req.body, 'body');
    res.status(201).json(unwrap(await service.createClient(actor(res), body.name, body.scopes)));
  });
  r.post('/clients/:id/revoke', scope('admin'), async (req, res) => {
    const { id } = parse(ClientIdParam, req.params, 'path');
    res.json(unwrap(await service.revokeClient(actor(res), id)));
  });

  // --- audit ---
  r.get('/audit', scope('audit.read'), async (req, res) => {
    const q = parse(AuditQueryParams, req.query, 'query');
    const entries = await deps.store.audit.query({
      ...(q.type ? { type: q.type } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.sid ? { sid: q.sid } : {}),
      ...(q.since ? { since: new Date(q.since).toISOString() } : {}),
      ...(q.until ? { until: new Date(q.until).toISOString() } : {}),
      ...(q.after !== undefined ? { afterSeq: q.after } : {}),
      limit: q.limit,
      descending: q.order === 'desc',
    });
    res.json({ entries });
  });

  r.use(errorHandler(deps.logger));
  return r;
}
