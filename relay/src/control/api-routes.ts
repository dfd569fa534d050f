import express, { type Router } from 'express';
import type { Logger } from 'pino';
import {
  API_PREFIX,
  publicKeyFromPem,
  verifyResumeToken,
  type AccessTokenVerifier,
  type HealthResponse,
  type TokenIssuer,
} from '@airlock/shared';
import type { AdminService } from '../admin/admin-service.js';
import type { Helpdesk } from '../helpdesk/helpdesk.js';
import { Readiness } from '../ops/readiness.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { RefusalAuditBudget } from '../audit/refusal-budget.js';
import type { AgentRegistry } from '../data/agent-registry.js';
import type { SessionPairer } from '../data/session-pairer.js';
import type { RelayStore } from '../store/types.js';
import { createEnrollmentRouter } from './enrollment-routes.js';
import { errorHandler, notFound, refuseDeclaredOversizedBody } from './http-error.js';
import { LoginChallenges } from './login-challenges.js';
import type { LoginLimits } from './login-limits.js';
import { createLoginRouter } from './login-routes.js';
import { requireAccessToken } from './require-access-token.js';
import { createSelfExplainRouter } from './self-explain-route.js';
import { createSessionRouter } from './session-routes.js';
import { createResumeRouter } from './resume-route.js';
import { orgInfoRoute } from '../org/org-info-route.js';
import type { OrgView } from '../org/org-view.js';

export interface ApiDeps {
  store: RelayStore;
  audit: AuditRecorder;
  admin: AdminService;
  /** Answers the user's own "why can't I reach this VM" (`GET /api/v1/explain`). */
  helpdesk?: Helpdesk;
  /** `/readyz` (public view: which check failed, no detail). */
  readiness?: Readiness;
  /** Mounted at /api/v1/admin (admin REST API with its own client-credential tokens). */
  adminRouter?: Router;
  registry: AgentRegistry;
  pairer: SessionPairer;
  issuer: TokenIssuer;
  accessTokens: AccessTokenVerifier;
  limits: LoginLimits;
  /** Per-source budget for auditing refused access tokens. */
  refusals: RefusalAuditBudget;
  logger: Logger;
  jsonBodyLimitBytes: number;
  maxPendingChallenges: number;
  loginNonceTtlSeconds: number;
  accessTokenTtlSeconds: number;
  relaySigningKeyPem: string;
  totpIssuerLabel: string;
  /** The organisation root: served at /api/v1/org and passed along with sessions. */
  org?: OrgView;
  now?: () => number;
}

/** The REST control plane under /api/v1, plus /healthz and /readyz. */
export function createApiApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The relay is reached directly; never trust X-Forwarded-For for rate limits or audit.
  app.set('trust proxy', false);
  const log = deps.logger;
  const now = deps.now ?? (() => Date.now());

  app.use((req, res, next) => {
    const started = Date.now();
    res.on('finish', () =>
      log.debug(
        { method: req.method, path: req.path, status: res.statusCode, ms: Date.now() - started },
        'api request',
      ),
    );
    next();
  });
  // `time` (to the millisecond) lets Connect's doctor measure its clock against the relay's.
  const healthz: express.RequestHandler = (_req, res) => {
    const body: HealthResponse = { status: 'ok', time: new Date(now()).toISOString() };
    res.setHeader('cache-control', 'no-store');
    res.json(body);
  };
  const readyz: express.RequestHandler = async (_req, res) => {
    if (!deps.readiness) return void res.status(404).end();
    const r = await deps.readiness.check();
    res.setHeader('cache-control', 'no-store');
    res.status(r.status === 'ready' ? 200 : 503).json(Readiness.publicView(r));
  };
  app.get('/healthz', healthz);
  app.get('/readyz', readyz);

  const api: Router = express.Router();
  api.use(refuseDeclaredOversizedBody(deps.jsonBodyLimitBytes));
  api.use(express.json({ limit: deps.jsonBodyLimitBytes, strict: true }));
  api.get('/healthz', healthz);
  api.get('/readyz', readyz);
  api.use(
    createEnrollmentRouter({
      store: deps.store,
      audit: deps.audit,
      limits: deps.limits,
      admin: deps.admin,
      relaySigningKeyPem: deps.relaySigningKeyPem,
      totpIssuerLabel: deps.totpIssuerLabel,
      now,
    }),
  );
  api.use(
    createLoginRouter({
      store: deps.store,
      audit: deps.audit,
      limits: deps.limits,
      challenges: new LoginChallenges(deps.loginNonceTtlSeconds * 1000, deps.maxPendingChallenges, now),
      issuer: deps.issuer,
      accessTokenTtlSeconds: deps.accessTokenTtlSeconds,
      now,
    }),
  );
  if (deps.adminRouter) api.use('/admin', deps.adminRouter);
  if (deps.org) api.get('/org', orgInfoRoute(deps.org));
  const auth = requireAccessToken({ verifier: deps.accessTokens, store: deps.store, refusals: deps.refusals });
  if (deps.helpdesk) api.use(createSelfExplainRouter({ auth, helpdesk: deps.helpdesk }));
  // A new session and a resumed one are issued from the same parts.
  const sessionDeps = {
    auth,
    store: deps.store,
    audit: deps.audit,
    registry: deps.registry,
    pairer: deps.pairer,
    issuer: deps.issuer,
    ...(deps.org ? { org: deps.org } : {}),
    now,
  };
  api.use(createSessionRouter(sessionDeps));
  const relayPublicKey = publicKeyFromPem(deps.relaySigningKeyPem);
  api.use(
    createResumeRouter({
      ...sessionDeps,
      verifyResumeToken: (token, sid) => verifyResumeToken(relayPublicKey, token, sid, now),
    }),
  );

  app.use(API_PREFIX, api);
  app.use(notFound);
  app.use(errorHandler(log));
  return app;
}
