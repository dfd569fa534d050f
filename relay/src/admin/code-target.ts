import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { curlPin, parseRelayUrl, spkiPin } from '@airlock/shared';
import { dataDirInUse } from '../data-dir-lock.js';
import { readServedAt } from '../served-at.js';
import { loadOrCreateRelayTls } from '../tls.js';
import { CliError } from './cli-error.js';

export const DEFAULT_RELAY_URL = 'https://127.0.0.1:7443';

/** What the admin said on the command line or in the environment. */
interface Given {
  relayUrl?: string;
  tlsCert?: string;
}

/**
 * The relay URL the admin gave (--relay-url, else AIRLOCK_RELAY_PUBLIC_URL), checked as Connect and
 * the agent will check it: a code naming an http:// URL, or one with a password in it, would be
 * printed here and refused by every device it is handed to. A bad one is a usage error (exit 2).
 */
export function givenRelayUrl(cmd: Command, env: NodeJS.ProcessEnv): string | undefined {
  const flag = (cmd.optsWithGlobals() as Given).relayUrl;
  const given = flag ?? nonEmpty(env.AIRLOCK_RELAY_PUBLIC_URL);
  if (given === undefined) return undefined;
  const parsed = parseRelayUrl(given);
  if (parsed.ok) return parsed.value.https;
  return cmd.error(`error: ${flag !== undefined ? '--relay-url' : 'AIRLOCK_RELAY_PUBLIC_URL'}: ${parsed.message}`, {
    exitCode: 2,
    code: 'airlock.usage',
  });
}

/**
 * Where the codes this command prints send people: the relay URL and the pin of its TLS key.
 * --relay-url / --tls-cert (or their env) win; else what the relay serving this data dir wrote in
 * served-at.json. That file is only current while the relay holds the data dir: when none does,
 * the codes still name where it last served (the likeliest place it will serve again), and the
 * admin is told so — before issue 7 the CLI printed codes for a dead port without a word.
 */
export async function codeTarget(
  cmd: Command,
  io: { err: (line: string) => void; env: NodeJS.ProcessEnv },
  dataDir: string,
): Promise<{ relayUrl: string; pin: string }> {
  const flags = cmd.optsWithGlobals() as Given;
  const givenUrl = givenRelayUrl(cmd, io.env);
  const givenCert = flags.tlsCert ?? nonEmpty(io.env.AIRLOCK_RELAY_TLS_CERT);
  const served = givenUrl && givenCert ? {} : readServedAt(dataDir);
  const relayUrl = givenUrl ?? served.publicUrl ?? DEFAULT_RELAY_URL;
  const certFile = givenCert ?? served.tlsCertFile;
  if (!givenUrl && served.publicUrl && !dataDirInUse(dataDir))
    io.err(
      `note: no relay is running on ${dataDir}; the code names ${relayUrl}, where it last served ` +
        '(start it there, or pass --relay-url)',
    );
  if (certFile) return { relayUrl, pin: await pinOfFile(certFile) };
  // The relay has never started: mint its certificate now (with the URL's host among its names);
  // the relay loads this same certificate when it starts.
  const host = new URL(relayUrl).hostname.replace(/^\[|\]$/g, '');
  const tls = await loadOrCreateRelayTls(dataDir, { hostnames: [host] });
  if (tls.created) io.err(`minted the relay's TLS certificate ${tls.certPath} (pin ${curlPin(tls.pin)})`);
  return { relayUrl, pin: tls.pin };
}

export async function pinOfFile(certFile: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(certFile, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${certFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'check the path');
  }
  try {
    return spkiPin(pem);
  } catch {
    throw new CliError(`${certFile} is not a PEM certificate`, 'pass the relay certificate (PEM)');
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.length > 0 ? value : undefined;
}
