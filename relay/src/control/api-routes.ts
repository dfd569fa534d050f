import { generateKeyPairSync, randomUUID } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  API_PREFIX,
  ChallengeRequest,
  LOGIN_NONCE_TTL_SECONDS,
  LoginRequest,
  SessionRequest,
  describeZodError,
  sshFingerprintFromPem,
  verifyLogin,
  type AccessTokenVerifier,
  type ChallengeResponse,
  type LoginResponse,
  type SessionResponse,
  type TokenIssuer,
  type VmListResponse,
} from '@airlock/shared';
import { effectivePorts, type Directory } from '../directory/directory.js';
import type { AgentRegistry } from '../data/agent-registry.js';
import type { SessionPairer } from '../data/session-pairer.js';
import { HttpError, errorHandler, notFound } from './http-error.js';
import { LoginChallenges } from './login-challenges.js';
import { requireAccessToken } from './require-access-token.js';

export interface ApiDeps {
  directory: Directory;
  registry: AgentRegistry;
  pairer: SessionPairer;
  issuer: TokenIssuer;
  accessTokens: AccessTokenVerifier;
  logger: Logger;
  jsonBodyLimitBytes: number;
  maxPendingChallenges: number;
  /** Checks a login signature; replaceable so tests can see which key it is asked about. */
  verifyLogin?: typeof verifyLogin;
}

function parseBody<T>(schema: z.ZodType<T>, req: Request): T {
  const r = schema.safeParse(req.body ?? undefined);
  if (!r.success) throw new HttpError(400, 'bad_request', describeZodError(r.error));
  return r.data;
}

const LOGIN_FAILED_SIGNATURE =
  'login failed: the signature does not match a key registered for this user name; check the user name and key file';
const LOGIN_FAILED_NONCE = 'login failed: the challenge is unknown, expired or already used; request a new challenge';

/** The REST control plane under /api/v1, plus /healthz. */
export function createApiApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const challenges = new LoginChallenges(LOGIN_NONCE_TTL_SECONDS * 1000, deps.maxPendingChallenges);
  const log = deps.logger;
  const verifySignature = deps.verifyLogin ?? verifyLogin;
  // An unknown user's signature is checked against this key (whose private half is dropped), so
  // a login takes the same work whether or not the user exists.
  const dummyLoginKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();

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
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));

  const api: Router = express.Router();
  api.use(express.json({ limit: deps.jsonBodyLimitBytes, strict: true }));
  api.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));

  api.post('/login/challenge', (req, res) => {
    const { user } = parseBody(ChallengeRequest, req);
    // Unknown users get a nonce too, so the answer does not tell which users exist.
    const { nonce, expiresAt } = challenges.issue(user);
    const body: ChallengeResponse = { nonce, expiresAt: expiresAt.toISOString() };
    res.json(body);
  });

  api.post('/login', async (req, res) => {
    const { user, nonce, signature } = parseBody(LoginRequest, req);
    const check = challenges.consume(nonce, user);
    if (check !== 'ok') {
      log.info({ user, why: `challenge ${check}` }, 'login failed');
      throw new HttpError(401, 'login_failed', LOGIN_FAILED_NONCE);
    }
    const record = await deps.directory.getUser(user);
    const signatureOk = verifySignature(record?.publicKeyPem ?? dummyLoginKeyPem, user, nonce, signature);
    if (!record || !signatureOk) {
      log.info({ user, why: record ? 'bad signature' : 'unknown user' }, 'login failed');
      throw new HttpError(401, 'login_failed', LOGIN_FAILED_SIGNATURE);
    }
    const { token, expiresAt } = await deps.issuer.issueAccessToken(user);
    log.info({ user }, 'login');
    const body: LoginResponse = { accessToken: token, expiresAt: expiresAt.toISOString(), user };
    res.json(body);
  });

  const authenticated = requireAccessToken(deps.accessTokens);

  /** The user's record, or 401 if it was removed after the token was issued. */
  const currentUser = async (user: string) => {
    const record = await deps.directory.getUser(user);
    if (!record) throw new HttpError(401, 'unauthenticated', `user "${user}" no longer exists; ask an admin`);
    return record;
  };

  api.get('/vms', authenticated, async (_req, res) => {
    const user = await currentUser(res.locals.user as string);
    const grants = await deps.directory.listGrants({ user: user.name });
    const vms: VmListResponse['vms'] = [];
    for (const grant of grants) {
      const vm = await deps.directory.getVm(grant.vm);
      if (vm) vms.push({ id: vm.id, online: deps.registry.isOnline(vm.id), ports: effectivePorts(vm, grant) });
    }
    vms.sort((a, b) => a.id.localeCompare(b.id));
    const body: VmListResponse = { vms };
    res.json(body);
  });

  api.post('/sessions', authenticated, async (req, res) => {
    const user = await currentUser(res.locals.user as string);
    const { vm: vmId } = parseBody(SessionRequest, req);
    const [vm, grant] = await Promise.all([deps.directory.getVm(vmId), deps.directory.getGrant(user.name, vmId)]);
    // A VM the user may not use is reported exactly like one that does not exist.
    if (!vm || !grant) throw new HttpError(404, 'vm_not_found', `no VM "${vmId}" that you may use`);
    const agent = deps.registry.get(vm.id);
    if (!agent || !deps.registry.isOnline(vm.id))
      throw new HttpError(409, 'vm_offline', `VM "${vm.id}" is offline: its agent is not connected to the relay`);

    const sessionId = randomUUID();
    // Counted against the pending-session limits before any further work is done for it.
    const created = deps.pairer.create({ sid: sessionId, vm: vm.id, user: user.name });
    if (!created.ok) throw new HttpError(429, 'too_many_sessions', created.message);
    const ports = effectivePorts(vm, grant);
    let ticket: string;
    let expiresAt: Date;
    try {
      const ukey = sshFingerprintFromPem(user.publicKeyPem);
      ({ token: ticket, expiresAt } = await deps.issuer.issueTicket({
        sub: user.name,
        sid: sessionId,
        vm: vm.id,
        ukey,
        ports,
      }));
    } catch (error) {
      deps.pairer.cancel(sessionId, 'no ticket could be issued');
      throw error;
    }
    if (!deps.registry.send(vm.id, { type: 'dial', sessionId, ticket })) {
      deps.pairer.refuse(sessionId, vm.id, 'agent went offline');
      throw new HttpError(409, 'vm_offline', `VM "${vm.id}" is offline: its agent is not connected to the relay`);
    }
    const body: SessionResponse = {
      sessionId,
      vm: vm.id,
      ticket,
      hostKey: agent.hostKey,
      hostKeyFingerprint: agent.hostKeyFingerprint,
      ports,
      expiresAt: expiresAt.toISOString(),
    };
    res.json(body);
  });

  app.use(API_PREFIX, api);
  app.use(notFound);
  app.use(errorHandler(log));
  return app;
}
