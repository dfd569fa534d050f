import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import {
  DEFAULT_RESUME_WINDOW_SECONDS,
  describeZodError,
  Port,
  publicKeyFromPem,
  tlsPinSchema,
  VmId,
  parseRelayUrl,
} from '@airlock/shared';
import { MAX_UNACKNOWLEDGED_BYTES } from '@airlock/shared/ssh';
import { defaultStateDir, readEnrollment, STATE_FILES, type AgentEnrollment } from './state-dir.js';
import { join } from 'node:path';

/**
 * What an operator writes (JSON file and/or environment). Files are read by `resolveAgentConfig`.
 * After `airlock-agent enroll`, the relay URL, pin, VM id, credential and relay key come from the
 * state directory; anything given here explicitly wins over it.
 */
export const AgentConfigInput = z
  .object({
    /** `wss://…` or `https://…` (one listener); plain ws:// and http:// are refused. */
    relayUrl: z.string().optional(),
    /** SPKI pin of the relay's TLS certificate, `sha256/<base64>`: the only trust anchor for TLS. */
    relayPin: tlsPinSchema.optional(),
    vmId: VmId.optional(),
    /** Where `airlock-agent enroll` keeps the agent's state (default: see defaultStateDir). */
    stateDir: z.string().min(1).optional(),
    /** One-time token for enrolling on first start (VM images); ignored once the state dir is enrolled. */
    enrollmentToken: z.string().min(1).optional(),
    /** `<vmId>.<secret>`, sent only in the Authorization header. */
    credential: z.string().min(1, 'must not be empty').optional(),
    credentialFile: z.string().min(1).optional(),
    /** The relay's ticket-signing public key (SPKI PEM), pinned at enrollment. */
    relayPublicKeyPem: z.string().min(1).optional(),
    relayPublicKeyFile: z.string().min(1).optional(),
    policy: z
      .object({ allowedPorts: z.array(Port).default([]) })
      .strict()
      .prefault({}),
    /** Run shells, exec and sftp as this OS user (needs the agent to run as root). */
    osUser: z.string().min(1).optional(),
    shell: z.string().min(1).optional(),
    sftpServerPath: z.string().min(1).default('/usr/lib/openssh/sftp-server'),
    forwardConnectTimeoutMs: z.number().int().positive().default(3000),
    /** A session that has not authenticated within this time is closed. */
    authTimeoutMs: z.number().int().positive().default(15000),
    /**
     * How long a session whose connection dropped is kept (its shells and transfers running),
     * waiting for Connect to resume it; then it ends.
     */
    resumeWindowMs: z
      .number()
      .int()
      .positive()
      .default(DEFAULT_RESUME_WINDOW_SECONDS * 1000),
    /** Sessions served at once; a dial beyond this is refused. */
    maxSessions: z.number().int().positive().default(64),
    /** Forwarded connections one session may hold open at once; beyond, opens are refused (and the user told). */
    maxForwardsPerSession: z.number().int().positive().max(65_536).default(1024),
    /**
     * What a session may have sent and not yet had acknowledged (session resume keeps it to send
     * again), in MiB; past it the session ends (audited). Connect acknowledges at least every 2 MiB.
     */
    maxUnacknowledgedMiB: z
      .number()
      .int()
      .positive()
      .max(4096)
      .default(MAX_UNACKNOWLEDGED_BYTES / 2 ** 20),
    backoff: z
      .object({
        minDelayMs: z.number().int().positive().default(500),
        // At most 4 s (with jitter): an agent is back within 5 s of its relay. Retrying a relay
        // that is down costs a refused TCP connect; the jitter spreads the return of many agents.
        maxDelayMs: z.number().int().positive().default(4000),
        /** A control link that stayed up this long resets the backoff. */
        stableAfterMs: z.number().int().nonnegative().default(10000),
      })
      .strict()
      .prefault({}),
    keepAlive: z
      .object({
        pingIntervalMs: z.number().int().positive().default(15000),
        pongTimeoutMs: z.number().int().positive().default(10000),
      })
      .strict()
      .prefault({}),
    /**
     * With an organisation root pinned: also admit users whose dial carries no certificate chain
     * (relay-only trust), while users move to u2 enrollments. Local and explicit; warned at every start.
     */
    acceptRelayOnlyUsers: z.boolean().default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict()
  .refine((c) => c.backoff.maxDelayMs >= c.backoff.minDelayMs, {
    message: 'maxDelayMs must be ≥ minDelayMs',
    path: ['backoff', 'maxDelayMs'],
  });
export type AgentConfigInput = z.input<typeof AgentConfigInput>;

type Parsed = z.output<typeof AgentConfigInput>;

/** The validated configuration the agent runs with: secrets and keys loaded, defaults filled. */
export interface AgentConfig extends Omit<
  Parsed,
  'credential' | 'relayPublicKeyPem' | 'relayPublicKeyFile' | 'shell' | 'relayUrl' | 'relayPin' | 'vmId' | 'stateDir'
> {
  /** Always `wss://…`. */
  relayUrl: string;
  relayPin: string;
  vmId: string;
  stateDir: string;
  credential: string;
  relayPublicKey: KeyObject;
  shell: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function readSecretFile(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`${field}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

const ENROLL_HINT = 'or enroll the agent: airlock-agent enroll <relay-url> <token>';

/** The enrollment in the state dir, read only when the explicit configuration leaves a gap. */
function enrollmentFor(c: Parsed, stateDir: string): AgentEnrollment | undefined {
  const complete =
    c.relayUrl &&
    c.relayPin &&
    c.vmId &&
    (c.credential || c.credentialFile) &&
    (c.relayPublicKeyPem || c.relayPublicKeyFile);
  if (complete) return undefined;
  const read = readEnrollment(stateDir);
  if (!read.ok) throw new ConfigError(`stateDir: ${read.message}`);
  return read.value;
}

/**
 * Validates input, reads the state directory, credential and relay key files, and fills defaults.
 * Throws ConfigError.
 */
export function resolveAgentConfig(input: unknown, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = AgentConfigInput.safeParse(input);
  if (!parsed.success) throw new ConfigError(`invalid agent configuration: ${describeZodError(parsed.error)}`);
  const c = parsed.data;
  const stateDir = c.stateDir ?? defaultStateDir(env);
  const state = enrollmentFor(c, stateDir);

  const urlText = c.relayUrl ?? state?.relayUrl;
  if (!urlText) throw new ConfigError(`relayUrl: missing (set relayUrl, ${ENROLL_HINT})`);
  const url = parseRelayUrl(urlText);
  if (!url.ok) throw new ConfigError(`invalid agent configuration: relayUrl: ${url.message}`);

  const relayPin = c.relayPin ?? state?.relayPin;
  if (!relayPin)
    throw new ConfigError(
      `relayPin: missing (the relay's TLS pin, sha256/…, shown by the relay at start; ${ENROLL_HINT})`,
    );

  if (c.vmId && state && c.vmId !== state.vm)
    throw new ConfigError(`vmId: "${c.vmId}" but ${stateDir} is enrolled for VM "${state.vm}"`);
  const vmId = c.vmId ?? state?.vm;
  if (!vmId) throw new ConfigError(`vmId: missing (set vmId, ${ENROLL_HINT})`);

  if (c.credential && c.credentialFile)
    throw new ConfigError('credential: give either credential or credentialFile, not both');
  let credentialFile = c.credentialFile;
  let credential = c.credential ?? (c.credentialFile ? readSecretFile(c.credentialFile, 'credentialFile') : undefined);
  if (!credential && state) {
    credential = state.credential;
    // So the start-up check of the file's mode covers the enrolled credential too.
    credentialFile = join(stateDir, STATE_FILES.credential);
  }
  if (!credential)
    throw new ConfigError(
      `credential: missing (set credential, credentialFile or AIRLOCK_AGENT_CREDENTIAL, ${ENROLL_HINT})`,
    );
  if (/\s/.test(credential)) throw new ConfigError('credential: must not contain whitespace');

  if (c.relayPublicKeyPem && c.relayPublicKeyFile)
    throw new ConfigError('relayPublicKeyPem: give either relayPublicKeyPem or relayPublicKeyFile, not both');
  const pem =
    c.relayPublicKeyPem ??
    (c.relayPublicKeyFile ? readSecretFile(c.relayPublicKeyFile, 'relayPublicKeyFile') : undefined) ??
    state?.relaySigningKeyPem;
  if (!pem)
    throw new ConfigError('relayPublicKeyPem: missing (the relay signing key that tickets must verify against)');
  let relayPublicKey: KeyObject;
  try {
    relayPublicKey = publicKeyFromPem(pem);
  } catch {
    throw new ConfigError('relayPublicKeyPem: not a PEM public key');
  }
  if (relayPublicKey.asymmetricKeyType !== 'ed25519')
    throw new ConfigError(
      `relayPublicKeyPem: expected an Ed25519 key, got ${relayPublicKey.asymmetricKeyType ?? 'unknown'}`,
    );

  const {
    credential: _c,
    relayPublicKeyPem: _p,
    relayPublicKeyFile: _pf,
    enrollmentToken: _t,
    shell,
    relayUrl: _u,
    relayPin: _pin,
    vmId: _vm,
    stateDir: _sd,
    credentialFile: _cf,
    ...rest
  } = c;
  return {
    ...rest,
    relayUrl: url.value.wss,
    relayPin,
    vmId,
    stateDir,
    credential,
    ...(credentialFile ? { credentialFile } : {}),
    relayPublicKey,
    shell: shell ?? env.SHELL ?? '/bin/bash',
  };
}

/** Environment overrides, applied on top of the JSON file. Only set keys override. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (name: string, key: string, map: (v: string) => unknown = (v) => v): void => {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = map(v);
  };
  set('AIRLOCK_RELAY_URL', 'relayUrl');
  set('AIRLOCK_RELAY_PIN', 'relayPin');
  set('AIRLOCK_AGENT_STATE_DIR', 'stateDir');
  set('AIRLOCK_AGENT_ENROLLMENT_TOKEN', 'enrollmentToken');
  set('AIRLOCK_VM_ID', 'vmId');
  set('AIRLOCK_AGENT_CREDENTIAL', 'credential');
  set('AIRLOCK_AGENT_CREDENTIAL_FILE', 'credentialFile');
  set('AIRLOCK_RELAY_PUBLIC_KEY_FILE', 'relayPublicKeyFile');
  set('AIRLOCK_OS_USER', 'osUser');
  set('AIRLOCK_SHELL', 'shell');
  set('AIRLOCK_SFTP_SERVER', 'sftpServerPath');
  set('AIRLOCK_LOG_LEVEL', 'logLevel');
  const ports = env.AIRLOCK_ALLOWED_PORTS;
  if (ports !== undefined && ports !== '')
    out.policy = {
      allowedPorts: ports
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
    };
  return out;
}

/**
 * `configFromEnv` for the process's own environment, which then loses the inline credential and
 * enrollment token: nothing started later (with the default environment) can inherit them.
 */
export function takeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out = configFromEnv(env);
  delete env.AIRLOCK_AGENT_CREDENTIAL;
  delete env.AIRLOCK_AGENT_ENROLLMENT_TOKEN;
  return out;
}

/** Merges file and env input (env wins; a file/inline pair is replaced as a unit). */
export function mergeConfigInput(file: Record<string, unknown>, env: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...file, ...env };
  const pairs: [string, string][] = [
    ['credential', 'credentialFile'],
    ['relayPublicKeyPem', 'relayPublicKeyFile'],
  ];
  for (const [a, b] of pairs) {
    if (a in env && !(b in env)) delete merged[b];
    if (b in env && !(a in env)) delete merged[a];
  }
  return merged;
}
