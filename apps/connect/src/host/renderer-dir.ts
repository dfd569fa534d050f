import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the built renderer is: AIRLOCK_UI_DIR if set; beside the running bundle
 * (.tools/dist/renderer, next to .tools/dist/airlock.mjs, whose lazily loaded parts — this code
 * among them — are in .tools/dist/airlock-chunks/); or, run from source, the repo's
 * .tools/dist/renderer. `npm start`, `npm test` and `npm run bench` build it.
 */
export function findRendererDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [
    env.AIRLOCK_UI_DIR,
    fileURLToPath(new URL('./renderer/', import.meta.url)),
    // Only from the CLI bundle's chunks: from source, ../renderer/ is the renderer's unbuilt source.
    basename(here) === 'airlock-chunks' ? join(here, '..', 'renderer') : undefined,
    fileURLToPath(new URL('../../../../.tools/dist/renderer/', import.meta.url)),
  ];
  return candidates.find((dir): dir is string => Boolean(dir) && existsSync(join(dir!, 'index.html')));
}
