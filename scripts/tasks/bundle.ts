// Bundles each program's TypeScript (npm packages stay external, except in the CLI) into
// .tools/dist/, so the wrappers (./airlock, ./airlock-relay, ./airlock-agent) start in about
// half the time tsx needs. The wrappers fall back to tsx whenever a source file is newer
// than the bundle, so an edit is never masked by a stale build.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, transformSync, type BuildOptions } from 'esbuild';
import { META_CONTENT_SECURITY_POLICY } from '../../apps/connect/src/api/transport/csp.js';
import { SCRIPT_FILE } from '../../apps/connect/src/cli/cached-script.js';
import { writeBundleInputs } from './bundle-inputs.js';
import { BuildStamp, sourceFingerprint } from './build-stamp.js';
import { repoRoot } from './tools.js';

export const BUNDLES = [
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

/** Where the renderer is built: the desktop app's page, JS and CSS, served by `airlock ui`. */
export const RENDERER_DIR = join(repoRoot, '.tools', 'dist', 'renderer');
const RENDERER_SRC = join(repoRoot, 'apps', 'connect', 'src', 'renderer');

/**
 * The renderer (React, TSX) for browsers: ES modules and one stylesheet, minified, nothing
 * external (the page loads nothing from anywhere else), and index.html with the app's CSP.
 * Split: what the first screen does not need (xterm) is a chunk of its own, loaded later.
 */
export async function bundleRenderer(): Promise<void> {
  // Replaced whole, so no chunk of an older build stays to be served or counted.
  rmSync(RENDERER_DIR, { recursive: true, force: true });
  mkdirSync(RENDERER_DIR, { recursive: true });
  const script = await build({
    entryPoints: { app: join(RENDERER_SRC, 'main.tsx') },
    outdir: RENDERER_DIR,
    metafile: true,
    splitting: true,
    chunkNames: 'chunk-[hash]',
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome120'],
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  await build({
    entryPoints: { app: join(RENDERER_SRC, 'app.css') },
    outdir: RENDERER_DIR,
    bundle: true,
    minify: true,
    logLevel: 'warning',
  });
  // The chunks app.js imports are named in the page, so the browser asks for them with app.js
  // rather than one round trip later, once it has read app.js.
  const appOutput = Object.entries(script.metafile.outputs).find(([path]) => path.endsWith('/app.js'));
  if (!appOutput) throw new Error('the renderer build wrote no app.js');
  const preloads = appOutput[1].imports
    .filter((i) => i.kind === 'import-statement')
    .map((i) => `<link rel="modulepreload" href="${relative(RENDERER_DIR, i.path)}" />`)
    .join('\n    ');
  const html = readFileSync(join(RENDERER_SRC, 'index.html'), 'utf8')
    .replace('%CONTENT_SECURITY_POLICY%', META_CONTENT_SECURITY_POLICY)
    .replace('%MODULE_PRELOADS%', preloads);
  writeFileSync(join(RENDERER_DIR, 'index.html'), html);
}

/**
 * The renderer's size as users download it: each file gzipped, in bytes, and whether the first
 * screen loads it (the page, the stylesheet, app.js and the chunks app.js imports statically).
 */
export function rendererGzippedBytes(): { file: string; bytes: number; gzipped: number; firstScreen: boolean }[] {
  const app = readFileSync(join(RENDERER_DIR, 'app.js'), 'utf8');
  const staticImports = new Set([...app.matchAll(/(?:from|import)\s*"\.\/(chunk-[\w-]+\.js)"/g)].map((m) => m[1]));
  return readdirSync(RENDERER_DIR).map((file) => {
    const path = join(RENDERER_DIR, file);
    return {
      file,
      bytes: statSync(path).size,
      gzipped: gzipSync(readFileSync(path), { level: 9 }).length,
      firstScreen: !file.startsWith('chunk-') || staticImports.has(file),
    };
  });
}

/** The desktop app's main process (ESM) and preload (CommonJS: sandboxed preloads cannot be modules). */
export const DESKTOP_DIR = join(repoRoot, '.tools', 'dist', 'desktop');

export function desktopBuilds(): BuildOptions[] {
  const external = ['electron', ...thirdPartyDependencies()];
  const common = { bundle: true, platform: 'node', target: 'node22', external, logLevel: 'warning' } as const;
  return [
    {
      ...common,
      entryPoints: [join(repoRoot, 'apps/connect/src/main/entry.ts')],
      outfile: join(DESKTOP_DIR, 'main.mjs'),
      format: 'esm',
    },
    {
      ...common,
      // The preload needs nothing but electron and the request names: everything else is bundled in.
      external: ['electron'],
      entryPoints: [join(repoRoot, 'apps/connect/src/preload/preload.ts')],
      outfile: join(DESKTOP_DIR, 'preload.cjs'),
      format: 'cjs',
    },
  ];
}

/** Where the CLI's lazily loaded parts go (replaced on every build, so no stale chunk stays). */
const CLI_CHUNKS = join(repoRoot, '.tools', 'dist', 'airlock-chunks');

/**
 * The CLI, split: each command's code (and the npm packages it needs) is a chunk loaded when that
 * command runs, so `airlock --help` loads little and `exec` loads no browser host (issue 11). Its
 * npm packages are bundled in too, except native ones: Node then resolves a few chunk files
 * instead of a package's hundreds (`--help` measured 208 → 138 ms median, README, Performance).
 */
async function bundleCli(external: string[]): Promise<void> {
  // The entry and the script come from one build or not at all: after a half-failed build, an
  // older script beside a newer entry would run the older CLI. An entry without the script runs
  // every command from its own chunks; without the entry, the wrapper runs the sources.
  const dist = join(repoRoot, '.tools', 'dist');
  for (const f of ['airlock.mjs', 'airlock.inputs', SCRIPT_FILE]) rmSync(join(dist, f), { force: true });
  rmSync(CLI_CHUNKS, { recursive: true, force: true });
  const [result] = await Promise.all([buildSplitCli(external), buildCliScript(external)]);
  refuseDynamicImport(join(dist, SCRIPT_FILE));
  escapeNonAscii(join(dist, SCRIPT_FILE));
  writeBundleInputs(join(dist, 'airlock.mjs'), result.metafile);
}

/**
 * Leaves the script pure ASCII, so the CLI reads it as Latin-1 into a one-byte string: ~1 ms
 * against ~5 for UTF-8 into a two-byte one (2.4 MB; every session command's start), and half the
 * memory. esbuild escapes non-ASCII characters in strings and identifiers (its default `charset:
 * 'ascii'`) but keeps them in comments — and in regular expressions and tagged templates, where an
 * escape would change `source` or `raw`. Every such character is escaped, and the result is kept
 * only if esbuild, minifying both (which drops comments), prints the same program: then only
 * comments changed. Otherwise the script stays UTF-8 as built — the CLI reads it as such, a little
 * slower — and the build says so.
 */
export function escapeNonAscii(scriptFile: string): void {
  const text = readFileSync(scriptFile, 'utf8');
  const escaped = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped === text) return;
  const program = (source: string) =>
    transformSync(source, { minify: true, charset: 'ascii', legalComments: 'none', logLevel: 'silent' }).code;
  if (program(escaped) !== program(text)) {
    console.warn(`${SCRIPT_FILE}: a non-ASCII character outside a comment; left as UTF-8`);
    return;
  }
  writeFileSync(scriptFile, escaped);
}

/**
 * An `import()` in the script would make Node print an experimental warning (vm's default
 * loader) in the user's terminal: our code loads its optional packages with `require`.
 */
function refuseDynamicImport(scriptFile: string): void {
  // Not a method of that name (dev-tunnels-ssh has a `static import(…)`), nor `x.import(…)`.
  const found = /(?<!static\s+|[.\w$])import\s*\(/.exec(readFileSync(scriptFile, 'utf8'));
  if (!found) return;
  rmSync(scriptFile, { force: true });
  throw new Error(`${SCRIPT_FILE} holds an import() (at ${found.index}): load the module with require instead`);
}

function buildSplitCli(external: string[]) {
  return build({
    absWorkingDir: repoRoot,
    metafile: true,
    banner: { js: CJS_IN_ESM_BANNER },
    entryPoints: { airlock: join(repoRoot, 'apps/connect/src/cli/main.ts') },
    outdir: join(repoRoot, '.tools', 'dist'),
    chunkNames: 'airlock-chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external,
    logLevel: 'warning',
  });
}

/**
 * The same CLI as one script, for the session commands (apps/connect/src/cli/cached-script.ts):
 * what they run is then in one V8 code cache taken after a run. CommonJS, every module in one
 * file (those loaded on demand still start only when imported), wrapped as a function expression
 * of CommonJS's five arguments that the entry compiles with `vm.Script`. Strict, as the ES
 * modules it is made of are; `import.meta.url` is the script's own URL.
 */
function buildCliScript(external: string[]) {
  return build({
    absWorkingDir: repoRoot,
    entryPoints: [join(repoRoot, 'apps/connect/src/cli/run.ts')],
    outfile: join(repoRoot, '.tools', 'dist', SCRIPT_FILE),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external,
    define: { 'import.meta.url': '__airlockScriptUrl' },
    // Any other import.meta would be empty in a script.
    logOverride: { 'empty-import-meta': 'error' },
    banner: {
      js:
        '(function (exports, require, module, __filename, __dirname) { "use strict"; ' +
        "const __airlockScriptUrl = require('node:url').pathToFileURL(__filename).href;",
    },
    footer: { js: '})' },
    logLevel: 'warning',
  });
}

/** Packages with native code (a .node file): never bundled, loaded from node_modules at run time. */
const NATIVE = ['keytar', 'node-pty', 'bufferutil', 'better-sqlite3', 'utf-8-validate'];
/** Optional packages our dependencies try when they are there (dev-tunnels-ssh: RSA on old Node). */
const OPTIONAL = ['node-rsa'];

/**
 * Bundled packages written in CommonJS call `require` (Node's built-ins, the native packages):
 * an ES module has none, so each output file gets one.
 */
const CJS_IN_ESM_BANNER =
  "import { createRequire as __airlockRequire } from 'node:module'; const require = __airlockRequire(import.meta.url);";

const DIST = join(repoRoot, '.tools', 'dist');

/** The stamp of the last whole build, and the files it must have left. */
function buildStamp(): BuildStamp {
  return new BuildStamp(join(DIST, 'build.stamp'), [
    ...BUNDLES.map((b) => join(DIST, b.out)),
    join(DIST, 'airlock.mjs'),
    join(DIST, SCRIPT_FILE),
    join(RENDERER_DIR, 'index.html'),
    join(RENDERER_DIR, 'app.js'),
    ...desktopBuilds().flatMap((b) => (b.outfile ? [b.outfile] : [])),
  ]);
}

/**
 * Builds every program, unless nothing they are made of changed since the last whole build
 * (build-stamp.ts says why a rebuild is not free). Returns which it did.
 */
export async function bundlePrograms(): Promise<'built' | 'current'> {
  const stamp = buildStamp();
  const fingerprint = sourceFingerprint();
  if (stamp.isCurrent(fingerprint)) return 'current';
  stamp.clear();
  await buildAll();
  stamp.write(fingerprint);
  return 'built';
}

async function buildAll(): Promise<void> {
  const external = thirdPartyDependencies();
  await Promise.all([
    bundleRenderer(),
    ...desktopBuilds().map((options) => build(options)),
    ...BUNDLES.map(async (b) => {
      const outfile = join(repoRoot, '.tools', 'dist', b.out);
      const result = await build({
        absWorkingDir: repoRoot,
        metafile: true,
        entryPoints: [join(repoRoot, b.entry)],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        external,
        logLevel: 'warning',
      });
      writeBundleInputs(outfile, result.metafile);
    }),
    bundleCli([...NATIVE, ...OPTIONAL]),
  ]);
}
