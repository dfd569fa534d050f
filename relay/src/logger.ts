import { pino, type Logger, type LevelWithSilent } from 'pino';
import { REDACT_PATHS } from '@airlock/shared';

export type { Logger } from 'pino';

/**
 * The relay's JSON logger. Secrets are never logged on purpose; REDACT_PATHS is the net under that.
 * Times are ISO-8601 (UTC), as in the agent's and Connect's logs, so one session's lines from the
 * three read and sort the same way.
 */
export function createRelayLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    name: 'airlock-relay',
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
