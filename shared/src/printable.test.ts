import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printableText } from './printable.js';

test('escape sequences, C1 controls and bidi overrides are dropped; the words stay', () => {
  const hostile = 'denied \x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\x1b[0m \x9b31m x\u202eabc\u2066d';
  const shown = printableText(hostile);
  assert.equal(shown, 'denied ]0;PWNED[2J[31mRED[0m 31m xabcd');
  assert.doesNotMatch(shown, /\p{Cc}/u);
});

test('line breaks and runs of spaces become one space: one line, whatever was sent', () => {
  assert.equal(printableText('  first\r\n\n second\tthird   fourth  '), 'first second third fourth');
});

test('long text is cut to the bound, counted in characters, ending in an ellipsis', () => {
  assert.equal(printableText('A'.repeat(15 * 1024 * 1024), 300), `${'A'.repeat(299)}…`);
  assert.equal(printableText('é'.repeat(10), 5), 'éééé…');
  assert.equal(printableText('short', 5), 'short');
});

test('a text cut before its escapes were dropped still ends in the ellipsis', () => {
  const shown = printableText(`${'\x1b'.repeat(2000)}tail`, 10);
  assert.equal(shown, '…');
});
