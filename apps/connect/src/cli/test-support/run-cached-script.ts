// Runs a script through cached-script.ts as the CLI's entry does, in a process of its own (the
// cache is written as the process exits): run-cached-script.ts <script> <command> [cache dir].
// TAKE_CACHE_AFTER_MS sets when a run still going has its cache taken.
// Says on stderr how the cache was used.
import { runCachedScript } from '../cached-script.js';

const [scriptPath, command, cacheDir] = process.argv.slice(2);
const takeAfter = process.env.TAKE_CACHE_AFTER_MS;
const use = runCachedScript({
  scriptPath: scriptPath!,
  command: command!,
  cacheDir: cacheDir || undefined,
  ...(takeAfter ? { takeCacheAfterMs: Number(takeAfter) } : {}),
});
process.stderr.write(`cache: ${use}\n`);
