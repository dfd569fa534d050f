import pino, { type Logger } from 'pino';
import { REDACT_PATHS } from '@airlock/shared';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Connect's logger: JSON lines on stderr (never stdout — `sftp-stdio` owns stdout), with the
 * shared redaction list as a net under anything that might carry a token or ticket.
 */
export function createConnectLogger(level: LogLevel = 'silent'): Logger {
  return pino(
    { name: 'airlock-connect', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    pino.destination({ fd: 2, sync: true }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
