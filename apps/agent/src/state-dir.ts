import { chmod, rm, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { describeZodError, tlsPinSchema, VmId, writeFileAtomic, parseRelayUrl } from '@airlock/shared';
import { makeFolders } from '@airlock/shared';

/**
 * What `airlock-agent enroll` leaves in the state directory:
 *   credential                 `<vmId>.<secret>`, mode 0600
 *   relay-signing-key.pub.pem  the key tickets are signed with (public)
 *   relay.json                 { relayUrl, relayPin, vm }, written last: its presence marks a
 *                              finished enrollment
 */
export const STATE_FILES = {
  credential: 'credential',
  relaySigningKey: 'relay-signing-key.pub.pem',
  relay: 'relay.json',
} as const;

export interface AgentEnrollment {
  /** `https://…` as given at enrollment (the agent derives `wss://` from it). */
  relayUrl: string;
  relayPin: string;
  vm: string;
  credential: string;
  relaySigningKeyPem: string;
}

const RelayJson = z.object({
  relayUrl: z.string().refine((u) => parseRelayUrl(u).ok, 'must be an https:// or wss:// URL'),
  relayPin: tlsPinSchema,
  vm: VmId,
});

/** `/var/lib/airlock-agent` for root, `~/.airlock-agent` otherwise; AIRLOCK_AGENT_STATE_DIR overrides. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string {
  const fromEnv = env.AIRLOCK_AGENT_STATE_DIR;
  if (fromEnv) return fromEnv;
  return uid === 0 ? '/var/lib/airlock-agent' : join(env.HOME || homedir(), '.airlock-agent');
}

export type ReadEnrollmentResult = { ok: true; value: AgentEnrollment | undefined } | { ok: false; message: string };

/** True when the directory holds any part of an enrollment (a half-written one counts too). */
export function hasEnrollment(dir: string): boolean {
  return Object.values(STATE_FILES).some((f) => existsSync(join(dir, f)));
}

/**
 * The enrollment in `dir`, undefined when there is none. Synchronous: configuration is resolved
 * before anything starts. A partial or damaged state is an error, never silently ignored.
 */
export function readEnrollment(dir: string): ReadEnrollmentResult {
  if (!hasEnrollment(dir)) return { ok: true, value: undefined };
  const read = (name: string): string | { error: string } => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      return { error: `cannot read ${join(dir, name)} (${code})` };
    }
  };
  const relayText = read(STATE_FILES.relay);
  const credential = read(STATE_FILES.credential);
  const keyPem = read(STATE_FILES.relaySigningKey);
  const incomplete = (what: string) =>
    `state directory ${dir} holds an incomplete enrollment: ${what}; enroll again with --force and a new token`;
  for (const part of [relayText, credential, keyPem])
    if (typeof part !== 'string') return { ok: false, message: incomplete(part.error) };
  let relay: z.infer<typeof RelayJson>;
  try {
    const parsed = RelayJson.safeParse(JSON.parse(relayText as string));
    if (!parsed.success) return { ok: false, message: incomplete(`relay.json: ${describeZodError(parsed.error)}`) };
    relay = parsed.data;
  } catch {
    return { ok: false, message: incomplete('relay.json is not valid JSON') };
  }
  return {
    ok: true,
    value: {
      relayUrl: relay.relayUrl,
      relayPin: relay.relayPin,
      vm: relay.vm,
      credential: (credential as string).trim(),
      relaySigningKeyPem: keyPem as string,
    },
  };
}

/**
 * Creates the directory (0700) or checks it can be written, before a one-time token is spent on
 * an enrollment that could then not be saved.
 */
export async function prepareStateDir(dir: string): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    await makeFolders(dir, 0o700);
    const s = await stat(dir);
    if (!s.isDirectory()) return { ok: false, message: `${dir} is not a directory` };
    // Only tighten a directory we own; chmod on someone else's fails and says so below.
    await chmod(dir, 0o700);
    return { ok: true };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return { ok: false, message: `cannot use state directory ${dir} (${code})` };
  }
}

/** Writes an enrollment; relay.json goes last so a crash midway leaves a state that reads as incomplete. */
export async function writeEnrollment(dir: string, e: AgentEnrollment): Promise<void> {
  // A replaced enrollment must not pair the old relay.json with a new credential if we stop midway.
  await rm(join(dir, STATE_FILES.relay), { force: true });
  await writeFileAtomic(join(dir, STATE_FILES.credential), `${e.credential}\n`, 0o600);
  await writeFileAtomic(join(dir, STATE_FILES.relaySigningKey), e.relaySigningKeyPem, 0o644);
  const relay = { relayUrl: e.relayUrl, relayPin: e.relayPin, vm: e.vm };
  await writeFileAtomic(join(dir, STATE_FILES.relay), `${JSON.stringify(relay, null, 2)}\n`, 0o644);
}
