// Bundles each program's TypeScript (our code only; npm packages stay external) into
// .tools/dist/, so the wrappers (./airlock, ./airlock-relay, ./airlock-agent) start in about
// half the time tsx needs. The wrappers fall back to tsx whenever a source file is newer
// than the bundle, so an edit is never masked by a stale build.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './tools.js';

export const BUNDLES = [
  { entry: 'apps/connect/src/cli/main.ts', out: 'airlock.mjs' },
  { entry: 'relay/src/cli.ts', out: 'airlock-relay.mjs' },
  { entry: 'apps/agent/src/main.ts', out: 'airlock-agent.mjs' },
  { entry: 'org/src/cli.ts', out: 'airlock-org.mjs' },
];

function thirdPartyDependencies(): string[] {
  const deps = new Set<string>();
  for (const pkg of ['shared', 'relay', 'org', 'apps/agent', 'apps/connect']) {
    const json = JSON.parse(readFileSync(join(repoRoot, pkg, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    // Optional ones too: keytar is native (a .node file) and may be missing; it is loaded at run time.
    for (const name of Object.keys({ ...json.dependencies, ...json.optionalDependencies }))
      if (!name.startsWith('@airlock/')) deps.add(name);
  }
  return [...deps];
}

export async function bundlePrograms(): Promise<void> {
  const external = thirdPartyDependencies();
  await Promise.all(
    BUNDLES.map((b) =>
      build({
        entryPoints: [join(repoRoot, b.entry)],
        outfile: join(repoRoot, '.tools', 'dist', b.out),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        external,
        logLevel: 'warning',
      }),
    ),
  );
}
