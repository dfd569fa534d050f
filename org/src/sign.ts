import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { curlPin, deriveCodeSecrets, formatOrgCode, hashSecret, newCodeKey, writeFileAtomic } from '@airlock/shared';
import { ed25519FromSeed, issueCredential, OrgRequest, type OrgAnswer } from '@airlock/shared/org';
import { CliError, type OrgIo } from './cli-error.js';
import type { OrgDir } from './org-dir.js';
import type { PasswordSource } from './passwords.js';

/**
 * `airlock-org sign <request>`: the administrator's approval of one user device or VM, made
 * ahead of time. A fresh `K` gives the relay secret (only its hash goes into the answer) and the
 * credential key, which this signs for the request's subject. The code is printed for the admin
 * to hand over; the answer file goes back to the relay (`airlock-relay org accept`).
 */
export async function signRequest(
  dir: OrgDir,
  o: { request: string; out?: string; codeOut?: string; hours: number; key?: string; password: PasswordSource },
  io: OrgIo,
): Promise<void> {
  const request = await readRequest(o.request);
  const anchor = await dir.anchor();
  if (request.afp !== anchor.afp)
    throw new CliError(
      `the request comes from a relay that holds organisation ${request.afp}, not this one (${anchor.afp})`,
      'set this organisation on the relay first (airlock-relay org set-anchor), or use the right --dir',
    );
  const signer = await dir.signer(anchor, o.key, o.password);
  const key = newCodeKey();
  const { relaySecret, credSeed } = deriveCodeSecrets(key);
  const cred = await issueCredential(signer, {
    kind: request.kind,
    sub: request.sub,
    key: ed25519FromSeed(credSeed),
    seconds: o.hours * 3600,
  });
  const expiresAt = new Date(cred.claims.exp * 1000).toISOString();
  const answer: OrgAnswer = {
    type: 'airlock-org-answer',
    v: 1,
    kind: request.kind,
    sub: request.sub,
    secretSha256: hashSecret(relaySecret),
    chain: cred.chain,
    expiresAt,
  };
  const out =
    o.out ?? join(dirname(o.request), `${basename(o.request).replace(/(\.request)?\.json$/, '')}.answer.json`);
  const code = formatOrgCode(request.kind === 'user' ? 'user' : 'agent', key, request.relayPin, anchor.afp);
  const command = `${request.kind === 'user' ? 'airlock enroll' : 'airlock-agent enroll'} ${request.relayUrl} ${code}`;
  // The code goes first: an answer the relay accepts for a code nobody holds would be a credential
  // issued for nothing, recorded as handed over.
  if (o.codeOut) await writeOrRefuse(o.codeOut, `${code}\n`, 0o600, 'the code', 'nothing was signed');
  try {
    await writeOrRefuse(out, `${JSON.stringify(answer, null, 2)}\n`, 0o644, 'the answer', 'nothing was signed');
  } catch (error) {
    if (o.codeOut) await rm(o.codeOut, { force: true });
    throw error;
  }
  await dir.record({
    at: new Date().toISOString(),
    kind: request.kind,
    sub: request.sub,
    jti: cred.claims.jti,
    expiresAt,
    by: signer.name,
  });
  io.err(
    `signed a one-time ${request.kind === 'user' ? 'enrollment code for user' : 'agent token for VM'} ${request.sub} (credential ${cred.claims.jti}, until ${expiresAt}), as ${signer.name}`,
  );
  io.err(`  relay ${request.relayUrl} (TLS pin ${curlPin(request.relayPin)}), organisation ${anchor.afp}`);
  io.err(`answer for the relay: ${out}  →  airlock-relay org accept ${basename(out)}`);
  if (o.codeOut) {
    io.err(`the code is in ${o.codeOut} (0600); hand it over a channel you trust, then delete it`);
  } else {
    io.err('hand this to the person over a channel you trust (it works once):');
    io.out(command);
  }
}

/** Writes `path`, or fails as a CliError naming it and what to do (a folder that is not there, not writable, a folder in its place). */
async function writeOrRefuse(
  path: string,
  text: string,
  mode: number,
  what: string,
  consequence: string,
): Promise<void> {
  try {
    await writeFileAtomic(path, text, mode);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new CliError(
      `cannot write ${what} to ${path} (${reason}); ${consequence}`,
      `name a file in a folder you can write to (${dirname(path)}), then run the same command again`,
    );
  }
}

async function readRequest(path: string): Promise<OrgRequest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not JSON`, 'pass the request file `airlock-relay` wrote');
  }
  const parsed = OrgRequest.safeParse(json);
  if (!parsed.success) {
    // The first problem says enough (a whole dump of a wrong file's fields does not help).
    const first = parsed.error.issues[0];
    throw new CliError(
      `${path} is not an Airlock organisation request (${first ? `${first.path.join('.') || 'the file'}: ${first.message}` : 'wrong shape'})`,
      'pass the <name>.<user|vm>.request.json that airlock-relay wrote (user add, vm add, org request)',
    );
  }
  return parsed.data;
}
