import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPtySize, checkTerm, MAX_PTY_COLS, MAX_PTY_ROWS } from './pty-size.js';

test('terminal sizes: real ones pass, zero means none given, absurd ones are refused with the limit', () => {
  assert.deepEqual(checkPtySize(80, 24), { ok: true, value: { cols: 80, rows: 24 } });
  assert.deepEqual(checkPtySize(MAX_PTY_COLS, MAX_PTY_ROWS), { ok: true, value: { cols: 4096, rows: 4096 } });
  assert.deepEqual(checkPtySize(0, 0), { ok: true, value: undefined });
  assert.deepEqual(checkPtySize(120, 0), { ok: true, value: undefined });
  for (const [cols, rows] of [
    [2 ** 32 - 1, 24],
    [80, 2 ** 32 - 1],
    [MAX_PTY_COLS + 1, 24],
    [2 ** 32 - 1, 0],
  ] as const) {
    const r = checkPtySize(cols, rows);
    assert.equal(r.ok, false, `${cols}×${rows}`);
    if (!r.ok) assert.match(r.error, /beyond the largest terminal the agent sets up \(4096×4096\)/);
  }
});

test('terminal names: a name or nothing (the default), never other bytes for the environment', () => {
  assert.deepEqual(checkTerm('xterm-256color'), { ok: true, value: 'xterm-256color' });
  assert.deepEqual(checkTerm('screen.xterm+new_2'), { ok: true, value: 'screen.xterm+new_2' });
  assert.deepEqual(checkTerm(''), { ok: true, value: 'xterm-256color' });
  for (const bad of ['xterm\nLD_PRELOAD=/tmp/x', 'a\u0000b', 'x'.repeat(65), '-xterm', 'xterm 256'])
    assert.equal(checkTerm(bad).ok, false, JSON.stringify(bad));
});
