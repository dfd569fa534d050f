import { LOG_LEVELS, type LogLevel } from '../core/log-levels.js';
import { UsageError } from './errors.js';

/** The level a command logs at: --verbose, --log-level, AIRLOCK_LOG_LEVEL, else silent; a usage error if unknown. */
export function chosenLogLevel(
  options: { logLevel?: string; verbose?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): LogLevel {
  const wanted = options.verbose ? 'debug' : (options.logLevel ?? env.AIRLOCK_LOG_LEVEL ?? 'silent');
  const level = LOG_LEVELS.find((l) => l === wanted);
  if (!level) throw new UsageError(`unknown log level "${wanted}"`, `use one of ${LOG_LEVELS.join(', ')}`);
  return level;
}
