import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  generateRelaySigningKey,
  mintServerCertificate,
  curlPin,
  spkiPin,
  type RelaySigningKey,
} from '@airlock/shared';
import type { RelayConfig } from './config.js';
import { lockDataDir } from './data-dir-lock.js';
import { prepareDataDir } from './data-dir.js';
import { loadOrCreateSigningKey } from './signing-key.js';
import { openSqliteStore } from './store/sqlite-store.js';
import type { RelayStore, SessionRecord } from './store/types.js';
import { RESUMABLE_AFTER_RESTART } from './store/sessions.js';
import { loadOrCreateRelayTls, loadRelayTlsFromFiles } from './tls.js';

export const STORE_FILE = 'relay.db';
export interface RelayTls {
  certPem: string;
  keyPem: string;
  /** `sha256/<base64>` of the certificate's SubjectPublicKeyInfo: what clients pin. */
  pin: string;
  certPath?: string;
}

/**
 * Why a session a killed relay left live was ended by the next start (store and audit). Such a
 * session may still be resumed, which makes it live again.
 */
export const RELAY_RESTARTED = RESUMABLE_AFTER_RESTART;

export interface RelayState {
  /** Lets another relay start on the data dir (call once the store is closed). */
  releaseDataDir(): void;
  store: RelayStore;
  signingKey: RelaySigningKey;
  publicKeyPath?: string;
  tls: RelayTls;
  /** Sessions a previous run left live (it was killed): ended now, to be audited as such. */
  endedByRestart: SessionRecord[];
}

/**
 * Opens (or creates on first start) everything the relay keeps: the SQLite store, the Ed25519
 * signing key and the TLS certificate. Without a data dir all of it is in memory and ephemeral.
 */
export async function openRelayState(
  config: RelayConfig,
  logger: Logger,
  given: { store?: RelayStore; signingKey?: RelaySigningKey },
): Promise<RelayState> {
  const dataDir = config.dataDir;
  if (!dataDir) return { ...(await openState(config, logger, given)), releaseDataDir: () => {} };
  await prepareDataDir(dataDir, logger);
  // Before anything in the dir is read or written: a second relay must not even mint a key.
  const lock = lockDataDir(dataDir);
  try {
    return { ...(await openState(config, logger, given)), releaseDataDir: () => lock.release() };
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function openState(
  config: RelayConfig,
  logger: Logger,
  given: { store?: RelayStore; signingKey?: RelaySigningKey },
): Promise<Omit<RelayState, 'releaseDataDir'>> {
  const dataDir = config.dataDir;
  let signingKey = given.signingKey;
  let publicKeyPath: string | undefined;
  if (!signingKey && dataDir) {
    const loaded = await loadOrCreateSigningKey(dataDir);
    signingKey = loaded.key;
    publicKeyPath = loaded.publicKeyPath;
    if (loaded.created) logger.info({ publicKeyPath }, 'created a new relay signing key');
  }
  signingKey ??= generateRelaySigningKey();

  let tls: RelayTls;
  if (config.tls) {
    const loaded = await loadRelayTlsFromFiles(config.tls.certFile, config.tls.keyFile);
    tls = { certPem: loaded.certPem, keyPem: loaded.keyPem, pin: loaded.pin, certPath: config.tls.certFile };
  } else if (dataDir) {
    const publicHost = config.publicUrl ? new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, '') : undefined;
    const hostnames = [config.host, ...config.tlsHostnames, ...(publicHost ? [publicHost] : [])];
    const loaded = await loadOrCreateRelayTls(dataDir, { hostnames });
    if (loaded.created)
      logger.info({ certPath: loaded.certPath, pin: curlPin(loaded.pin) }, 'minted a self-signed TLS certificate');
    tls = { certPem: loaded.certPem, keyPem: loaded.keyPem, pin: loaded.pin, certPath: loaded.certPath };
  } else {
    const minted = await mintServerCertificate({
      commonName: 'airlock-relay',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
      days: 1,
    });
    tls = { certPem: minted.certPem, keyPem: minted.keyPem, pin: spkiPin(minted.certPem) };
  }

  const store = given.store ?? openSqliteStore(dataDir ? join(dataDir, STORE_FILE) : ':memory:');
  try {
    // Sessions marked live belong to a previous run of this relay; none of their sockets survived.
    const endedByRestart = await store.sessions.endAllLive(RELAY_RESTARTED);
    if (endedByRestart.length > 0)
      logger.info({ sessions: endedByRestart.length }, 'marked sessions of the previous run as ended');
    // Likewise the agent links: an agent that is still up reconnects within its backoff.
    const links = await store.agentPresence.markAllOffline('relay restarted');
    if (links > 0) logger.info({ agents: links }, 'marked agent links of the previous run as offline');
    return { store, signingKey, ...(publicKeyPath ? { publicKeyPath } : {}), tls, endedByRestart };
  } catch (error) {
    // A store this relay opened is its to close (a locked or damaged file); a given one is not.
    if (!given.store) await store.close();
    throw error;
  }
}
