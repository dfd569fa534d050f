import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import { currentSession, REDACT_PATHS } from '@airlock/shared';
import { RotatingFile } from './logging/rotating-file.js';

import type { LogLevel } from './log-levels.js';

export type { Logger } from 'pino';
export { LOG_LEVELS, type LogLevel } from './log-levels.js';

/** Connect's log files in the log folder: five of 2 MiB at most (`connect.log`, `connect.1.log` …). */
export const CONNECT_LOG = { name: 'connect', ext: '.log', maxBytes: 2 * 1024 * 1024, files: 5 } as const;

/**
 * What Connect's logs never carry, on top of the list every Airlock program shares: the login's
 * client key, the key file's unlock key, authenticator codes and secrets, enrollment codes.
 */
export const CONNECT_REDACT_PATHS = [
  ...REDACT_PATHS,
  ...[
    'clientKeyPem',
    'keyPem',
    'privateKeyPem',
    'unlockKey',
    'totp',
    'totpSecret',
    'totpUri',
    'enrollmentCode',
  ].flatMap((k) => [k, `*.${k}`]),
];

export interface ConnectLoggerOptions {
  /** What reaches stderr: nothing (`silent`) unless asked for with `-v` or `--log-level`. */
  stderrLevel?: LogLevel;
  /** The log folder; without one nothing is written to a file. */
  folder?: string;
  /** What the file keeps (default `info`, or the stderr level when that says more). */
  fileLevel?: LogLevel;
  /** For tests: smaller files. */
  file?: Partial<Pick<typeof CONNECT_LOG, 'maxBytes' | 'files'>>;
}

export interface ConnectLogger {
  log: Logger;
  /** The file the log goes to, when it goes to one. */
  file?: RotatingFile;
}

/**
 * Connect's logger: JSON lines (pino) to rotating files in the log folder and, when asked, to
 * stderr (never stdout — `sftp-stdio` owns stdout). Every line written while a session's work
 * runs carries that session's id (`sid`, the key the relay and the agent use too), whether or
 * not the code that logs it knows the session. Secrets are redacted by key as a net under code
 * that should not log them in the first place.
 */
export function createConnectLogger(options: ConnectLoggerOptions = {}): ConnectLogger {
  const stderrLevel = options.stderrLevel ?? 'silent';
  const streams: StreamEntry[] = [];
  let file: RotatingFile | undefined;
  if (options.folder) {
    file = new RotatingFile({ folder: options.folder, ...CONNECT_LOG, ...options.file });
    const fileLevel = options.fileLevel ?? moreDetailed('info', stderrLevel);
    if (fileLevel !== 'silent') streams.push({ level: fileLevel, stream: lineStream(file) });
  }
  if (stderrLevel !== 'silent') streams.push({ level: stderrLevel, stream: pino.destination({ fd: 2, sync: true }) });
  const level = streams.reduce<LogLevel>((l, s) => moreDetailed(l, s.level as LogLevel), 'silent');
  const log = pino(
    {
      name: 'airlock-connect',
      level,
      redact: { paths: CONNECT_REDACT_PATHS, censor: '[redacted]' },
      mixin: sessionMixin,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    streams.length ? pino.multistream(streams) : pino.destination({ fd: 2, sync: true }),
  );
  return { log, ...(file ? { file } : {}) };
}

/** The `sid` of the session whose work is running, unless the line or the logger names one already. */
function sessionMixin(mergeObject: object, _level: number, logger: Logger): object {
  const sid = currentSession()?.sid;
  if (!sid || 'sid' in mergeObject || logger.bindings().sid !== undefined) return {};
  return { sid };
}

function lineStream(file: RotatingFile): DestinationStream {
  return { write: (line: string) => file.write(line) };
}

const ORDER: Record<LogLevel, number> = { silent: 0, fatal: 1, error: 2, warn: 3, info: 4, debug: 5, trace: 6 };

/** Of two levels, the one that lets more through. */
function moreDetailed(a: LogLevel, b: LogLevel): LogLevel {
  return ORDER[a] >= ORDER[b] ? a : b;
}

export const silentLogger: Logger = pino({ level: 'silent' });
