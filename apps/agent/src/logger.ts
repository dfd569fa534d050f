import { REDACT_PATHS } from '@airlock/shared';
import { pino, type DestinationStream, type Logger } from 'pino';

/** JSON logs; secrets are never logged on purpose, and the redaction list is the net under that. */
export function createAgentLogger(opts: { level?: string; vm?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'airlock-agent',
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { vm: opts.vm },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}
