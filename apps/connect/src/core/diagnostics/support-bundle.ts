import { stat, writeFile } from 'node:fs/promises';
import { arch, platform, release, type as osType } from 'node:os';
import { readFileIfExists, sshFingerprintFromPem } from '@airlock/shared';
import { CONNECT_LOG } from '../logger.js';
import { lastLines, rotatedPaths } from '../logging/rotating-file.js';
import { recentSessions, SESSION_JOURNAL } from '../logging/session-journal.js';
import type { AirlockPaths } from '../paths.js';
import type { DoctorReport } from './doctor-report.js';
import { doctorText } from './doctor-text.js';
import { SecretScrubber } from './secret-scrubber.js';
import { tarGz, type TarEntry } from './tar-writer.js';

export interface SupportBundleOptions {
  paths: AirlockPaths;
  logFolder: string;
  /** The doctor's report, run just before. */
  report: DoctorReport;
  /** How many of the last log lines to carry. */
  lines: number;
  now: Date;
  versions: { connect: string; electron?: string; chrome?: string };
}

export interface SupportBundle {
  /** The folder inside the archive, `airlock-support-<time>`. */
  name: string;
  archive: Buffer;
  /** What it holds, for the person sending it. */
  files: string[];
}

/** How many recent sessions the bundle lists. */
const RECENT_SESSIONS = 50;

/**
 * One archive for a helpdesk ticket: the doctor's report (as read and as JSON), versions and the
 * OS, the config and what is on disk (never a secret: only whether files are there, their modes
 * and public fingerprints), the last log lines, and the recent sessions with how they ended. Every
 * file passes the scrubber, and the finished contents are checked once more against the secrets
 * this machine holds: if one were still there, no bundle is made (that would be a bug).
 */
export async function buildSupportBundle(options: SupportBundleOptions): Promise<SupportBundle> {
  const { paths, logFolder, report, now } = options;
  const scrubber = new SecretScrubber(await knownSecrets(paths));
  const name = `airlock-support-${now.toISOString().replace(/[:.]/g, '-')}`;
  const json = (v: unknown) => JSON.stringify(scrubber.json(v), null, 2) + '\n';

  const logPaths = rotatedPaths({ folder: logFolder, ...CONNECT_LOG });
  const rawLines = lastLines(logPaths, options.lines);
  // Everything is read and learned from before anything is scrubbed: a secret logged once under
  // its name is then found under any other, or none.
  const config = parse(await readFileIfExists(paths.config).catch(() => undefined));
  scrubber.learn(config);
  for (const line of rawLines) scrubber.learnLine(line);
  const logLines = rawLines.map((l) => scrubber.line(l));
  const sessions = recentSessions(rotatedPaths({ folder: logFolder, ...SESSION_JOURNAL }), RECENT_SESSIONS);

  const files: Array<[string, string]> = [
    ['README.txt', readme(options, logLines.length, sessions.length)],
    ['doctor.txt', scrubber.text(doctorText(report))],
    ['doctor.json', json(report)],
    ['system.json', json(systemInfo(options))],
    ['config.json', json(await configSummary(paths, logFolder, config))],
    ['sessions.json', json(sessions)],
    ['logs/connect.log', logLines.length ? logLines.join('\n') + '\n' : ''],
  ];
  for (const [file, content] of files) {
    const leaked = scrubber.leaks(content);
    if (leaked.length)
      throw new Error(`the support bundle's ${file} still holds a secret after scrubbing (a bug); nothing was written`);
  }
  const entries: TarEntry[] = [
    { name: `${name}/` },
    { name: `${name}/logs/` },
    ...files.map(([file, content]) => ({ name: `${name}/${file}`, content })),
  ];
  return { name, archive: tarGz(entries, now), files: files.map(([f]) => f) };
}

/** Writes the archive, 0600, never over an existing file. */
export async function writeSupportBundle(file: string, bundle: SupportBundle): Promise<void> {
  await writeFile(file, bundle.archive, { mode: 0o600, flag: 'wx' });
}

/** The secrets this machine holds, to be found and removed wherever they ended up. */
async function knownSecrets(paths: AirlockPaths): Promise<string[]> {
  const found: string[] = [];
  const session = parse(await readFileIfExists(paths.session).catch(() => undefined));
  for (const key of ['accessToken', 'clientKeyPem']) {
    const v = session?.[key];
    if (typeof v === 'string') found.push(v);
  }
  const keyText = await readFileIfExists(paths.userKey).catch(() => undefined);
  const keyFile = parse(keyText);
  if (keyText) found.push(keyText);
  const sealed = keyFile as
    { ciphertext?: unknown; kdf?: Record<string, unknown>; cipher?: Record<string, unknown> } | undefined;
  for (const v of [sealed?.ciphertext, sealed?.kdf?.salt, sealed?.kdf?.check, sealed?.cipher?.iv, sealed?.cipher?.tag])
    if (typeof v === 'string') found.push(v);
  return found;
}

async function configSummary(
  paths: AirlockPaths,
  logFolder: string,
  config: Record<string, unknown> | undefined,
): Promise<unknown> {
  const mode = async (path: string) => {
    try {
      return (await stat(path)).mode & 0o777;
    } catch {
      return undefined;
    }
  };
  const file = async (path: string) => {
    const m = await mode(path);
    return m === undefined ? { present: false } : { present: true, mode: m.toString(8).padStart(4, '0') };
  };
  const session = parse(await readFileIfExists(paths.session).catch(() => undefined));
  const keyFile = parse(await readFileIfExists(paths.userKey).catch(() => undefined));
  const publicKeyPem = keyFile?.publicKeyPem;
  let fingerprint: string | undefined;
  try {
    fingerprint = typeof publicKeyPem === 'string' ? sshFingerprintFromPem(publicKeyPem) : undefined;
  } catch {
    fingerprint = 'unreadable';
  }
  return {
    home: paths.home,
    logFolder,
    // config.json holds no secret; anything secret-named that got into it is redacted all the same.
    config: config ?? null,
    files: {
      'config.json': await file(paths.config),
      'user-key.json': { ...(await file(paths.userKey)), ...(fingerprint ? { fingerprint } : {}) },
      'session.json': {
        ...(await file(paths.session)),
        ...(session ? { user: session.user, relayUrl: session.relayUrl, expiresAt: session.expiresAt } : {}),
      },
    },
  };
}

function systemInfo(options: SupportBundleOptions): unknown {
  return {
    connect: options.versions.connect,
    ...(options.versions.electron ? { electron: options.versions.electron } : {}),
    ...(options.versions.chrome ? { chrome: options.versions.chrome } : {}),
    node: process.versions.node,
    os: { platform: platform(), type: osType(), release: release(), arch: arch() },
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    bundledAt: options.now.toISOString(),
  };
}

function readme(options: SupportBundleOptions, lines: number, sessions: number): string {
  return [
    'Airlock Connect support bundle',
    `made ${options.now.toISOString()} by Connect ${options.versions.connect}`,
    '',
    'doctor.txt / doctor.json  airlock doctor, run when this bundle was made (see the README, "airlock doctor")',
    'system.json               Connect, Node and OS versions, time zone',
    'config.json               the relay, user and device this Connect is enrolled as; which files exist, their modes',
    `sessions.json             the last ${sessions} sessions: id, VM, start, end, how each ended`,
    `logs/connect.log          the last ${lines} lines of Connect's log (JSON, one line each, "sid" is the session id)`,
    '',
    'No secrets: access tokens, private keys, the key file, passwords, authenticator secrets and codes are removed.',
    'Helpdesk: airlock-relay session show <session id> tells the relay side of any session listed here.',
    '',
  ].join('\n');
}

function parse(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
