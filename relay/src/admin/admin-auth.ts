import type { Request, RequestHandler, Response } from 'express';
import {
  AdminTokenRequest,
  describeZodError,
  scopeAllows,
  type AdminScope,
  type AdminTokenIssuer,
  type AdminTokenResponse,
  type AdminTokenVerifier,
} from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { RefusalAuditBudget } from '../audit/refusal-budget.js';
import { HttpError } from '../control/http-error.js';
import { sourceAddress } from '../control/request-source.js';
import type { ApiClientStore } from '../store/types.js';
import type { AdminService } from './admin-service.js';

/** Who is calling, set by `requireAdminClient` for the routes after it. */
export interface AdminCaller {
  clientId: string;
  scopes: string[];
  /** `client:<id>`, the audit actor. */
  actor: string;
}

export function adminCaller(res: Response): AdminCaller {
  const caller = res.locals.adminCaller as AdminCaller | undefined;
  if (!caller) throw new Error('admin route mounted without requireAdminClient');
  return caller;
}

const REALM = 'realm="airlock-admin"';

/** Kept in the audit log of a refusal: enough to see which route, never a caller's 15 KB of path. */
const AUDITED_PATH_CHARS = 200;

/** The request's path for an audit entry, without the query, cut to AUDITED_PATH_CHARS. */
function auditedPath(req: Request): string {
  const path = req.originalUrl.split('?')[0] ?? '';
  return path.length > AUDITED_PATH_CHARS ? `${path.slice(0, AUDITED_PATH_CHARS)}…` : path;
}

function bearerToken(header: string | undefined): string | undefined {
  const m = header ? /^Bearer[ \t]+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | 'malformed' | undefined {
  const m = header ? /^Basic[ \t]+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!header || !/^Basic\b/i.test(header)) return undefined;
  if (!m) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  try {
    const form = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

/** RFC 6749 §5.2 error body: OAuth client libraries parse exactly this shape. */
function oauthError(res: Response, status: number, error: string, description: string, basic = false): void {
  res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  if (status === 401) res.set('WWW-Authenticate', basic ? `Basic ${REALM}` : `Bearer ${REALM}`);
  res.status(status).json({ error, error_description: description });
}

/**
 * `POST /token`: client credentials (JSON body, form body, or HTTP Basic) → short-lived admin JWT.
 * Every refusal is audited as `admin.token.issue` with its reason.
 */
export function tokenEndpoint(deps: {
  service: AdminService;
  issuer: AdminTokenIssuer;
  audit: AuditRecorder;
  ttlSeconds?: number;
}): RequestHandler {
  return async (req, res) => {
    const source = req.socket.remoteAddress ?? 'unknown';
    const refuseRequest = async (error: string, description: string, basic = false, status = 400) => {
      await deps.audit.record({
        type: 'admin.token.issue',
        actor: 'client:unknown',
        outcome: 'failure',
        source,
        data: { reason: `${error}: ${description}` },
      });
      oauthError(res, status, error, description, basic);
    };
    if (!req.is(['application/json', 'application/x-www-form-urlencoded']))
      return refuseRequest('invalid_request', 'send application/x-www-form-urlencoded or application/json');
    const body = AdminTokenRequest.safeParse(req.body ?? {});
    if (!body.success) {
      const grantWrong = body.error.issues.some((i) => i.path[0] === 'grant_type');
      return refuseRequest(grantWrong ? 'unsupported_grant_type' : 'invalid_request', describeZodError(body.error));
    }
    const basic = basicCredentials(req.headers.authorization);
    if (basic === 'malformed') return refuseRequest('invalid_client', 'malformed Basic credentials', true, 401);
    const inBody = body.data.client_id !== undefined || body.data.client_secret !== undefined;
    if (basic && inBody)
      return refuseRequest(
        'invalid_request',
        'send client credentials either with Basic auth or in the body, not both',
      );
    const id = basic?.id ?? body.data.client_id;
    const secret = basic?.secret ?? body.data.client_secret;
    if (id === undefined || secret === undefined)
      return refuseRequest(
        'invalid_client',
        'client_id and client_secret are required (body or Basic auth)',
        true,
        401,
      );

    const auth = await deps.service.authenticateClient(id, secret, body.data.scope, source);
    if (!auth.ok) {
      const status = auth.error.code === 'invalid_client' ? 401 : 400;
      return oauthError(res, status, auth.error.code, auth.error.message, basic !== undefined);
    }
    const issued = await deps.issuer.issue(auth.value.clientId, auth.value.scopes, deps.ttlSeconds);
    const answer: AdminTokenResponse = {
      access_token: issued.token,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      scope: issued.scope,
    };
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(answer);
  };
}

/**
 * Verifies the admin bearer token and then looks the client up, so a revoked client is refused
 * at once even while its token has not expired. Refusals are audited as `admin.denied`.
 */
export function requireAdminClient(deps: {
  verifier: AdminTokenVerifier;
  clients: Pick<ApiClientStore, 'get'>;
  /** Refusals are audited within a per-source budget: junk tokens must not grow the chain without bound. */
  refusals: RefusalAuditBudget;
}): RequestHandler {
  return async (req, res, next) => {
    const deny = async (
      actor: string,
      reason: string,
      code: string,
      message: string,
      challenge = `Bearer ${REALM}, error="invalid_token"`,
    ) => {
      const source = sourceAddress(req);
      await deps.refusals.record(source, {
        type: 'admin.denied',
        actor,
        outcome: 'failure',
        source,
        data: { reason, method: req.method, path: auditedPath(req) },
      });
      return next(new HttpError(401, code, message, { 'WWW-Authenticate': challenge }));
    };
    const token = bearerToken(req.headers.authorization);
    if (!token)
      return deny(
        'client:unknown',
        'no token',
        'unauthenticated',
        'missing "Authorization: Bearer <admin token>"; get one from POST /api/v1/admin/token',
        `Bearer ${REALM}`,
      );
    const verified = await deps.verifier.verify(token);
    if (!verified.ok) {
      if (verified.error.code === 'expired')
        return deny('client:unknown', 'token expired', 'token_expired', 'admin token has expired; get a new one');
      return deny(
        'client:unknown',
        `token rejected: ${verified.error.code}`,
        'unauthenticated',
        `admin token rejected (${verified.error.message}); get a new one from POST /api/v1/admin/token`,
      );
    }
    const actor = `client:${verified.value.clientId}`;
    const client = await deps.clients.get(verified.value.clientId);
    if (!client || client.revokedAt)
      return deny(actor, 'client revoked', 'unauthenticated', 'this API client has been revoked; ask an admin');
    // The token's scopes, but never more than the client holds now.
    const scopes = verified.value.scopes.filter((s) => client.scopes.includes(s));
    const caller: AdminCaller = { clientId: client.clientId, scopes, actor };
    res.locals.adminCaller = caller;
    // The shared error handler logs refusals with `res.locals.user`.
    res.locals.user = actor;
    next();
  };
}

/** 403 `insufficient_scope` (RFC 6750 §3.1) naming the scope needed; audited as `admin.denied`. */
export function requireScope(needed: AdminScope, audit: AuditRecorder): RequestHandler {
  return async (req: Request, res, next) => {
    const caller = adminCaller(res);
    if (scopeAllows(caller.scopes, needed)) return next();
    await audit.record({
      type: 'admin.denied',
      actor: caller.actor,
      outcome: 'failure',
      source: sourceAddress(req),
      data: {
        reason: 'insufficient_scope',
        needed,
        scopes: caller.scopes,
        method: req.method,
        path: auditedPath(req),
      },
    });
    next(
      new HttpError(
        403,
        'insufficient_scope',
        `this call needs scope "${needed}" (or "admin"); this token has: ${caller.scopes.join(' ') || 'none'}`,
        { 'WWW-Authenticate': `Bearer ${REALM}, error="insufficient_scope", scope="${needed}"` },
      ),
    );
  };
}

/**
 * Under an organisation root the relay must never know an enrollment code: users' and agents'
 * codes are made with `airlock-org` and only their public half reaches the relay (README,
 * Organisation root). The routes that would make one on the relay refuse then, audited; the CLI's
 * explicit `--relay-only` is the one way back to relay-made codes (migration).
 */
export function refuseRelayCodesUnderRoot(hasRoot: () => Promise<boolean>, audit: AuditRecorder): RequestHandler {
  return async (req: Request, res, next) => {
    if (!(await hasRoot())) return next();
    const caller = adminCaller(res);
    await audit.record({
      type: 'admin.denied',
      actor: caller.actor,
      outcome: 'failure',
      source: sourceAddress(req),
      data: { reason: 'organisation_root', method: req.method, path: auditedPath(req) },
    });
    next(
      new HttpError(
        409,
        'organisation_root',
        'this relay has an organisation root: enrollment codes are made with airlock-org, never by the relay; ' +
          'use `airlock-relay user add|new-code` or `vm add|new-token` with --request-out, then airlock-org sign and airlock-relay org accept',
      ),
    );
  };
}
