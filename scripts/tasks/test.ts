// `npm test`: lint, type-check, then every unit and integration test (node:test, real
// processes and sockets). Ends with the line "N passed, N failed" that CI reads.
//   npm test                 everything
//   npm test -- <substring>  only test files whose path contains it (skips lint/type-check)
import { spawnSync } from 'node:child_process';
import { globSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundlePrograms } from './bundle.js';
import { lint, repoRoot, typecheck } from './tools.js';

const filters = process.argv.slice(2);
const patterns = [
  'shared/src/**/*.test.ts',
  'relay/src/**/*.test.ts',
  'org/src/**/*.test.ts',
  'apps/*/src/**/*.test.ts',
  'integration/**/*.test.ts',
  'fuzz/**/*.test.ts',
  'e2e/**/*.test.ts',
  'bench/src/**/*.test.ts',
];
const files = patterns
  .flatMap((p) => globSync(p, { cwd: repoRoot, exclude: (f) => f.includes('node_modules') }))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

// The tests drive ./airlock, ./airlock-agent … as users do: through the fresh bundles.
if ((await bundlePrograms()) === 'current')
  console.log('programs: built already from these sources (.tools/dist/build.stamp); not rebuilt');

let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];

function check(name: string, fn: () => boolean): void {
  console.log(`\n▶ ${name}`);
  if (fn()) {
    passed++;
    console.log(`✔ ${name}`);
  } else {
    failed++;
    failures.push(name);
    console.log(`✖ ${name}`);
  }
}

if (filters.length === 0) {
  check('lint (eslint + prettier --check)', lint);
  check('type-check (tsc)', typecheck);
}

if (files.length === 0) {
  console.error(`no test files match ${filters.join(', ') || 'the test patterns'}`);
  failed++;
} else {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-test-'));
  const summaryFile = join(dir, 'summary.json');
  console.log(`\n▶ ${files.length} test files`);
  spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=2',
      '--test-timeout=180000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(repoRoot, 'scripts/tasks/summary-reporter.mjs')}`,
      `--test-reporter-destination=${summaryFile}`,
      ...files,
    ],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  try {
    const s = JSON.parse(readFileSync(summaryFile, 'utf8')) as {
      passed: number;
      failed: number;
      skipped: number;
      failures: string[];
    };
    passed += s.passed;
    failed += s.failed;
    skipped += s.skipped;
    failures.push(...s.failures);
  } catch {
    failed++;
    failures.push('the test runner ended without a summary');
  }
  rmSync(dir, { recursive: true, force: true });
}

if (failures.length) console.log(`\nfailed:\n${failures.map((f) => `  ✖ ${f}`).join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
