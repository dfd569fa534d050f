import agentPackage from '../package.json' with { type: 'json' };
import { generateHostKey, publicKeyBlob } from '@airlock/shared/ssh';
import { createPinnedHttpsAgent, sshFingerprint } from '@airlock/shared';
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Logger } from 'pino';
import type { AgentConfig } from './config.js';
import { ControlLink, type LinkState, type LinkStateEvent } from './control-link.js';
import type { Connector } from './direct-tcpip.js';
import { createAgentLogger } from './logger.js';
import { resolveOsUser, type OsUser } from './os-user.js';
import { RefusalReporter } from './refusal-reporter.js';
import { AgentOrgTrust } from './org-trust.js';
import { SessionHost } from './session-host.js';
import { signalsDelivered } from './session-signals.js';
import { StatusFileWriter } from './status-file.js';

export const AGENT_VERSION: string = agentPackage.version;

export interface StartAgentOptions {
  logger?: Logger;
  /** Test seam: how forwards connect to 127.0.0.1:port. */
  connector?: Connector;
  /** Test seam: jitter source for the reconnect backoff. */
  random?: () => number;
  /** Test seam: clock used for ticket expiry. */
  now?: () => number;
  /** Channel refusals reported to the relay per session per second (default 5). */
  refusalsPerSecond?: number;
  /** Where to keep the status `airlock-agent status` reads (0600); none when absent (tests, benchmarks). */
  statusFile?: string;
}

export interface RunningAgent {
  hostKeyFingerprint: string;
  /** The SSH public key blob (base64) registered with the relay. */
  hostKeyBlobB64: string;
  readonly state: LinkState;
  onState(listener: (e: LinkStateEvent) => void): () => void;
  /** Resolves when the control link is next 'online' (at once if it already is). */
  whenOnline(timeoutMs?: number): Promise<void>;
  readonly activeSessions: number;
  /** Of those, the ones whose connection dropped, waiting for a resume. */
  readonly suspendedSessions: number;
  /** Stops reconnecting, ends all sessions and their processes, closes every socket. */
  close(): Promise<void>;
  /** Resolves once the status file holds the latest state (tests). */
  statusWritten(): Promise<void>;
}

/**
 * Not refused (the local demo runs this way), but said at every start: a shell running as the
 * agent's own uid can read the credential (its file, or /proc/<agent>/environ).
 */
function warnAboutCredentialExposure(config: AgentConfig, user: OsUser, log: Logger): void {
  if (user.uid === userInfo().uid)
    log.warn(
      { osUser: user.name },
      `sessions run as the agent's own user ${user.name}, who can read the agent credential; ` +
        'run the agent as a dedicated user and set osUser',
    );
  if (!config.credentialFile) return;
  try {
    const mode = statSync(config.credentialFile).mode & 0o777;
    if (mode & 0o077)
      log.warn(
        { credentialFile: config.credentialFile, mode: mode.toString(8).padStart(4, '0') },
        'the credential file is readable by group or others; chmod 600 it',
      );
  } catch {
    // Read a moment ago by resolveAgentConfig; nothing to add if it has gone since.
  }
}

/** The status file, following the control link's state (and keeping the last reason it went down). */
function startStatusFile(
  path: string,
  config: AgentConfig,
  link: ControlLink,
  hostKeyFingerprint: string,
  log: Logger,
): StatusFileWriter {
  const now = () => new Date().toISOString();
  const writer = new StatusFileWriter(
    path,
    {
      pid: process.pid,
      version: AGENT_VERSION,
      startedAt: now(),
      vm: config.vmId,
      relayUrl: config.relayUrl,
      hostKeyFingerprint,
      policyPorts: config.policy.allowedPorts,
      link: { state: link.state, since: now() },
      sessions: [],
    },
    log,
  );
  link.onState((e) =>
    writer.update((s) => {
      const at = now();
      const lastError = e.state === 'offline' && e.reason ? { reason: e.reason, at } : s.link.lastError;
      // `since` is when the link came up, or went down: attempts while down do not move it.
      const up = (state: string) => (state === 'online' ? 'up' : state === 'closed' ? 'closed' : 'down');
      const changed = up(e.state) !== up(s.link.state);
      return {
        ...s,
        link: {
          state: e.state,
          since: changed ? at : s.link.since,
          ...(lastError ? { lastError } : {}),
          ...(e.state === 'offline' && e.retryInMs !== undefined
            ? { nextAttemptAt: new Date(Date.now() + e.retryInMs).toISOString() }
            : {}),
        },
      };
    }),
  );
  return writer;
}

const HOSTKEY_RENEW_MS = 24 * 60 * 60 * 1000;

/**
 * Says at every start which trust the agent runs under, and signs this boot's host key with the
 * VM identity key when it pinned an organisation.
 */
async function announceTrust(
  org: AgentOrgTrust | undefined,
  config: AgentConfig,
  hostKeyFingerprint: string,
  log: Logger,
): Promise<string[] | undefined> {
  if (!org) {
    log.warn(
      { trust: 'relay-only' },
      'running WITHOUT an organisation root: this agent accepts any user the relay vouches for, and Connect trusts the relay for this host key; enroll with an a2 token to pin one',
    );
    return undefined;
  }
  const crl = org.crl.claims;
  log.info(
    { trust: 'org-root', org: org.anchor.org, afp: org.anchor.afp, crlSeq: crl?.seq ?? null },
    'organisation root pinned: users are admitted only with a certificate chain to it',
  );
  if (config.acceptRelayOnlyUsers)
    log.warn(
      "acceptRelayOnlyUsers is set: users without a certificate chain are admitted on the relay's word (migration); turn it off when every user has a u2 enrollment",
    );
  return org.hostKeyChain(config.vmId, hostKeyFingerprint);
}

async function offerCrl(org: AgentOrgTrust | undefined, chain: string[], log: Logger): Promise<void> {
  if (!org) return;
  const r = await org.crl.offer(chain).catch((e: unknown) => {
    log.error({ err: (e as Error).message }, 'could not keep the revocation list');
    return undefined;
  });
  if (r?.outcome === 'newer') log.info({ crlSeq: r.seq }, 'new revocation list');
  else if (r?.outcome === 'invalid')
    log.warn({ code: r.refusal.code }, `revocation list refused: ${r.refusal.message}`);
  else if (r?.outcome === 'older')
    log.warn({ crlSeq: r.seq }, 'the relay sent an older revocation list; kept the newer one');
}

/** Starts an agent in this process: fresh host key, control link, session host. */
export async function startAgent(config: AgentConfig, options: StartAgentOptions = {}): Promise<RunningAgent> {
  const log = options.logger ?? createAgentLogger({ level: config.logLevel, vm: config.vmId });
  const user = resolveOsUser(config.osUser);

  // A fresh host key on every start; it lives only in memory.
  const hostKey = await generateHostKey();
  const blob = await publicKeyBlob(hostKey);
  const hostKeyBlobB64 = blob.toString('base64');
  const hostKeyFingerprint = sshFingerprint(blob);
  log.info(
    { hostKeyFingerprint, version: AGENT_VERSION, osUser: user.name, allowedPorts: config.policy.allowedPorts },
    'agent starting',
  );
  log.info({ relay: config.relayUrl, relayPin: config.relayPin }, 'relay TLS key pinned');
  if (!config.credential.startsWith(`${config.vmId}.`))
    log.warn('the configured credential does not look like one issued for this VM id (expected "<vmId>.<secret>")');
  warnAboutCredentialExposure(config, user, log);
  const org = await AgentOrgTrust.load(config.stateDir, options.now);
  const vmChain = await announceTrust(org, config, hostKeyFingerprint, log);

  // One pinned agent for the control link and every data socket: the relay's TLS key is checked
  // on each connection before the credential is written to it.
  const tlsAgent = createPinnedHttpsAgent({ pin: config.relayPin });
  let link: ControlLink | undefined = undefined;
  let status: StatusFileWriter | undefined = undefined;
  const refusals = new RefusalReporter({
    send: (msg) => link?.send(msg) ?? false,
    perSecond: options.refusalsPerSecond,
  });
  const host = new SessionHost({
    tlsAgent,
    refusals,
    config,
    hostKey,
    user,
    log,
    connector: options.connector,
    now: options.now,
    onSessionsChanged: () => status?.update((s) => ({ ...s, sessions: host.list() })),
    ...(org ? { org } : {}),
    refuse: (sessionId, reason) => {
      if (!link?.send({ type: 'dial-refused', sessionId, reason }))
        log.warn({ sid: sessionId }, 'could not report the refused dial: control link is down');
    },
  });
  link = new ControlLink({
    relayUrl: config.relayUrl,
    vmId: config.vmId,
    credential: config.credential,
    tlsAgent,
    hostKeyB64: hostKeyBlobB64,
    version: AGENT_VERSION,
    backoff: config.backoff,
    keepAlive: config.keepAlive,
    log,
    random: options.random,
    onDial: (d) => host.handleDial(d),
    onEnd: (sid, reason) => host.end(sid, reason),
    ...(vmChain ? { vmChain } : {}),
    onCrl: (chain) => void offerCrl(org, chain, log),
  });
  const theLink = link;
  if (options.statusFile) status = startStatusFile(options.statusFile, config, theLink, hostKeyFingerprint, log);
  theLink.start();
  // The host key certificate lives 7 days; re-signed daily so a long-running agent never lapses.
  const renewal =
    org &&
    setInterval(() => {
      void org
        .hostKeyChain(config.vmId, hostKeyFingerprint)
        .then((chain) => theLink.renewVmChain(chain))
        .catch((e: unknown) => log.error({ err: (e as Error).message }, 'could not renew the host key certificate'));
    }, HOSTKEY_RENEW_MS).unref();

  let closed = false;
  return {
    hostKeyFingerprint,
    hostKeyBlobB64,
    get state() {
      return theLink.state;
    },
    onState: (l) => theLink.onState(l),
    whenOnline(timeoutMs = 10_000) {
      if (theLink.state === 'online') return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          off();
          reject(new Error(`agent not online within ${timeoutMs} ms (state ${theLink.state})`));
        }, timeoutMs);
        const off = theLink.onState((e) => {
          if (e.state !== 'online') return;
          clearTimeout(t);
          off();
          resolve();
        });
      });
    },
    get activeSessions() {
      return host.activeSessions;
    },
    get suspendedSessions() {
      return host.list().filter((s) => s.suspended).length;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (renewal) clearInterval(renewal);
      await theLink.close();
      await host.closeAll();
      // Background jobs get their hang-up before the process is gone (session-signals.ts reads /proc first).
      await signalsDelivered();
      tlsAgent.destroy();
      await status?.flush();
      log.info('agent stopped');
    },
    statusWritten: async () => status?.flush(),
  };
}
