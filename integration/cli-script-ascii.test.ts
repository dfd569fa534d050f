// The build makes the CLI's whole script ASCII (scripts/tasks/bundle.ts) so that it loads as a
// one-byte string; it may escape only where an escape is plain text.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { escapeNonAscii } from '../scripts/tasks/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-script-ascii-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function escaped(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  escapeNonAscii(file);
  return readFileSync(file, 'utf8');
}

test('non-ASCII characters in comments are escaped; the code is untouched', () => {
  const source = '// an em dash — here\n/**\n * and … here\n */\nconst s = "\\u2014";\n';
  const out = escaped('comments.js', source);
  assert.equal(out, '// an em dash \\u2014 here\n/**\n * and \\u2026 here\n */\nconst s = "\\u2014";\n');
});

for (const [what, code] of [
  ['a regular expression', 'const r = /—/;'],
  ['a tagged template', 'const t = String.raw`—`;'],
  // A line that starts as a comment line would, inside a template: only a parser can tell.
  ['a tagged template of several lines', 'const t = String.raw`first\n * second —\n// third —`;'],
  ['a regular expression after a comment on its line', 'const r = /* @__PURE__ */ f(/é/);'],
] as const)
  test(`a non-ASCII character in ${what} leaves the whole script as built (an escape would change it)`, () => {
    const source = `// a comment …\n${code}\n`;
    assert.equal(escaped(`code-${what.length}.js`, source), source);
  });
