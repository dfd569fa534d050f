import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { describeZodError, Port, publicKeyFromPem, VmId } from '@airlock/shared';

/** What an operator writes (JSON file and/or environment). Files are read by `resolveAgentConfig`. */
export const AgentConfigInput = z
  .object({
    relayUrl: z
      .string()
      .regex(/^wss?:\/\/[^\s/]+/, 'must be a ws:// or wss:// URL, e.g. wss://relay.example.org')
      .transform((u) => u.replace(/\/+$/, '')),
    vmId: VmId,
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
    /** Sessions served at once; a dial beyond this is refused. */
    maxSessions: z.number().int().positive().default(64),
    backoff: z
      .object({
        minDelayMs: z.number().int().positive().default(500),
        maxDelayMs: z.number().int().positive().default(30000),
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
export interface AgentConfig extends Omit<Parsed, 'credential' | 'relayPublicKeyPem' | 'relayPublicKeyFile' | 'shell'> {
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

/** Validates input, reads the credential and relay key files, and fills defaults. Throws ConfigError. */
export function resolveAgentConfig(input: unknown, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = AgentConfigInput.safeParse(input);
  if (!parsed.success) throw new ConfigError(`invalid agent configuration: ${describeZodError(parsed.error)}`);
  const c = parsed.data;

  if (c.credential && c.credentialFile)
    throw new ConfigError('credential: give either credential or credentialFile, not both');
  const credential =
    c.credential ?? (c.credentialFile ? readSecretFile(c.credentialFile, 'credentialFile') : undefined);
  if (!credential)
    throw new ConfigError('credential: missing (set credential, credentialFile or AIRLOCK_AGENT_CREDENTIAL)');
  if (/\s/.test(credential)) throw new ConfigError('credential: must not contain whitespace');

  if (c.relayPublicKeyPem && c.relayPublicKeyFile)
    throw new ConfigError('relayPublicKeyPem: give either relayPublicKeyPem or relayPublicKeyFile, not both');
  const pem =
    c.relayPublicKeyPem ??
    (c.relayPublicKeyFile ? readSecretFile(c.relayPublicKeyFile, 'relayPublicKeyFile') : undefined);
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

  const { credential: _c, relayPublicKeyPem: _p, relayPublicKeyFile: _pf, shell, ...rest } = c;
  return { ...rest, credential, relayPublicKey, shell: shell ?? env.SHELL ?? '/bin/bash' };
}

/** Environment overrides, applied on top of the JSON file. Only set keys override. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (name: string, key: string, map: (v: string) => unknown = (v) => v): void => {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = map(v);
  };
  set('AIRLOCK_RELAY_URL', 'relayUrl');
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
 * `configFromEnv` for the process's own environment, which then loses the inline credential:
 * nothing started later (with the default environment) can inherit it.
 */
export function takeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out = configFromEnv(env);
  delete env.AIRLOCK_AGENT_CREDENTIAL;
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
