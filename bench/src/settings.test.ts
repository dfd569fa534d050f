import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './processes.js';
import { fileSetting, jsonObjectSetting, listSetting, numberSetting } from './settings.js';

const runs = { name: 'BENCH_RUNS', default: 3, min: 1, max: 20, integer: true };

test('a number setting: unset or blank takes the default; a value in bounds is taken', () => {
  assert.deepEqual(numberSetting(undefined, runs), { ok: true, value: 3 });
  assert.deepEqual(numberSetting(' ', runs), { ok: true, value: 3 });
  assert.deepEqual(numberSetting(' 7 ', runs), { ok: true, value: 7 });
  assert.deepEqual(numberSetting('0.5', { name: 'X', default: 1, min: 0.1, max: 2 }), { ok: true, value: 0.5 });
});

test('a number setting refuses what is not a number, a fraction where a count is wanted, and what is out of bounds', () => {
  for (const raw of ['abc', '1e400', 'NaN', '2.5', '0', '21', '-3']) {
    const s = numberSetting(raw, runs);
    assert.equal(s.ok, false, raw);
    if (!s.ok) assert.equal(s.message, `BENCH_RUNS must be a whole number from 1 to 20, not "${raw}"`);
  }
});

test('a list setting names only known sections; unset means all', () => {
  const known = ['throughput', 'echo'];
  assert.deepEqual(listSetting('BENCH_ONLY', undefined, known), { ok: true, value: new Set(known) });
  assert.deepEqual(listSetting('BENCH_ONLY', 'echo, throughput', known), { ok: true, value: new Set(known) });
  const typo = listSetting('BENCH_ONLY', 'troughput,echo', known);
  assert.equal(typo.ok, false);
  if (!typo.ok) assert.match(typo.message, /from: throughput, echo; not "troughput"/);
  assert.equal(listSetting('BENCH_ONLY', ',', known).ok, false);
});

test('a JSON setting must be an object; a file setting must name a file', () => {
  assert.deepEqual(jsonObjectSetting('C', '{"a":1}'), { ok: true, value: { a: 1 } });
  for (const raw of ['{', '[1]', '3', 'null']) assert.equal(jsonObjectSetting('C', raw).ok, false, raw);
  assert.deepEqual(fileSetting('F', undefined), { ok: true, value: undefined });
  assert.deepEqual(fileSetting('F', join(repoRoot, 'package.json')), {
    ok: true,
    value: join(repoRoot, 'package.json'),
  });
  assert.equal(fileSetting('F', repoRoot).ok, false);
  assert.equal(fileSetting('F', join(repoRoot, 'no-such-file')).ok, false);
});

test('the bench, load, soak and tls-floor programs refuse a bad setting with exit 2 and one line, before starting anything', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    [
      'bench/src/main.ts',
      { BENCH_MB: 'lots' },
      /^bench: BENCH_MB must be a whole number from 1 to 10000, not "lots"\n$/,
    ],
    [
      'bench/src/main.ts',
      { BENCH_ONLY: 'echoo' },
      /^bench: BENCH_ONLY names sections to run, from: .*; not "echoo"\n$/,
    ],
    [
      'bench/src/load.ts',
      { LOAD_SESSIONS: '0' },
      /^load: LOAD_SESSIONS must be a whole number from 1 to 100000, not "0"\n$/,
    ],
    ['bench/src/soak.ts', { SOAK_MINUTES: 'x' }, /^soak: SOAK_MINUTES must be a number from 0.1 to 240, not "x"\n$/],
    ['bench/src/tls-floor.ts', { TLS_FLOOR_CONNECTIONS: '5000' }, /^tls-floor: TLS_FLOOR_CONNECTIONS must be/],
  ];
  for (const [script, env, expected] of cases) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, script)], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 2, `${script} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.equal(r.stdout, '');
  }
});
