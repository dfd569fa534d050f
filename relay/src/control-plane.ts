import type { Logger } from 'pino';
import type express from 'express';
import {
  AccessTokenVerifier,
  AdminTokenIssuer,
  AdminTokenVerifier,
  LOGIN_NONCE_TTL_SECONDS,
  type RelaySigningKey,
  type TokenIssuer,
} from '@airlock/shared';
import { AdminService } from './admin/admin-service.js';
import { createAdminRouter } from './admin/admin-routes.js';
import type { AuditRecorder } from './audit/recorder.js';
import { RefusalAuditBudget } from './audit/refusal-budget.js';
import type { RelayConfig } from './config.js';
import { createApiApp } from './control/api-routes.js';
import { sourceAddress } from './control/request-source.js';
import type { SourceLimits } from './control/source-limits.js';
import type { AgentRegistry } from './data/agent-registry.js';
import type { SessionPairer } from './data/session-pairer.js';
import { Helpdesk } from './helpdesk/helpdesk.js';
import type { Readiness } from './ops/readiness.js';
import type { OrgView } from './org/org-view.js';
import type { RelayStore } from './store/types.js';

export interface ControlPlaneDeps {
  config: RelayConfig;
  store: RelayStore;
  audit: AuditRecorder;
  logger: Logger;
  now: () => number;
  signingKey: RelaySigningKey;
  publicKeyPem: string;
  /** What enrollment codes name: the URL clients reach and the pin of the certificate served there. */
  publicUrl: string;
  tlsPin: string;
  registry: AgentRegistry;
  pairer: SessionPairer;
  issuer: TokenIssuer;
  readiness: Readiness;
  org: OrgView;
  sourceLimits: SourceLimits;
}

/**
 * The relay's HTTP API (enrollment, login, sessions, the admin REST API and the helpdesk's
 * answers) with the services behind it; what the TLS server serves once the relay has started.
 */
export function createControlPlane(deps: ControlPlaneDeps): {
  app: express.Express;
  admin: AdminService;
  helpdesk: Helpdesk;
} {
  const { config, store, audit, logger, now, signingKey, publicUrl } = deps;
  const limits = deps.sourceLimits.login;
  const admin = new AdminService({
    store,
    audit,
    enrollment: { relayUrl: publicUrl, pin: deps.tlsPin },
    userCodeTtlMs: config.enrollmentCodeTtlSeconds * 1000,
    agentTokenTtlMs: config.enrollmentCodeTtlSeconds * 1000,
    now: () => new Date(now()),
  });
  const helpdesk = new Helpdesk({
    store,
    now: () => new Date(now()),
    relay: () => ({ running: true, url: publicUrl }),
    live: (sid) => deps.pairer.snapshot(sid),
  });
  // One budget for refused tokens, user and admin alike: a source spends it on either door.
  const refusals = new RefusalAuditBudget(audit, config.refusedUpgradesPerMinute, now);
  const adminRouter = createAdminRouter({
    refusals,
    service: admin,
    helpdesk,
    store,
    audit,
    logger,
    issuer: new AdminTokenIssuer(signingKey.privateKey, now),
    verifier: new AdminTokenVerifier(signingKey.publicKey, now),
    heldSources: () => deps.sourceLimits.held(),
    // Client secrets are 256-bit random, so this only bounds the work a flood can cause.
    tokenRateLimit: (req, _res, next) => {
      try {
        limits.takeRequest(sourceAddress(req));
        next();
      } catch (error) {
        next(error);
      }
    },
  });
  const app = createApiApp({
    store,
    audit,
    admin,
    helpdesk,
    readiness: deps.readiness,
    adminRouter,
    registry: deps.registry,
    pairer: deps.pairer,
    issuer: deps.issuer,
    accessTokens: new AccessTokenVerifier(signingKey.publicKey, now),
    limits,
    refusals,
    logger,
    jsonBodyLimitBytes: config.jsonBodyLimitBytes,
    maxPendingChallenges: config.maxPendingChallenges,
    loginNonceTtlSeconds: LOGIN_NONCE_TTL_SECONDS,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    relaySigningKeyPem: deps.publicKeyPem,
    totpIssuerLabel: new URL(publicUrl).hostname,
    org: deps.org,
    now,
  });
  return { app, admin, helpdesk };
}
