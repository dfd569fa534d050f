import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

// Lint keeps Connect's layers apart: these are the imports it must refuse (and a few it must allow).
const root = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source + '\nvoid x;\n', { filePath: `${root}${file}` });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('the renderer imports neither Node, nor Electron, nor core — only the API contract', async () => {
  const file = 'apps/connect/src/renderer/some-screen.tsx';
  for (const bad of [
    "import x from 'node:fs';",
    "import x from 'fs';",
    "import x from 'electron';",
    "import x from '../core/next-action.js';",
    "import x from '../api/service/connect-service.js';",
    "import x from '../host/ui-host.js';",
    "import x from '@airlock/shared';",
    "import x from '@airlock/connect';",
  ])
    assert.equal((await restricted(file, bad)).length, 1, bad);
  for (const good of [
    "import x from '../api/contract/index.js';",
    "import x from '../api/transport/wire.js';",
    "import x from '@airlock/shared/schemas';",
    "import x from 'react';",
    "import x from '@xterm/xterm';",
  ])
    assert.deepEqual(await restricted(file, good), [], good);
});

test('core imports neither Electron nor React nor any front end; the contract stays browser-safe', async () => {
  const core = 'apps/connect/src/core/session/some-file.ts';
  for (const bad of [
    "import x from 'electron';",
    "import x from 'react';",
    "import x from '../../cli/context.js';",
    "import x from '../../api/service/failures.js';",
    "import x from '../../host/ui-host.js';",
  ])
    assert.equal((await restricted(core, bad)).length, 1, bad);
  assert.deepEqual(await restricted(core, "import x from 'node:net';"), []);
  const contract = 'apps/connect/src/api/contract/some-file.ts';
  for (const bad of [
    "import x from 'node:crypto';",
    "import x from '@airlock/shared';",
    "import x from '../../core/login/login.js';",
  ])
    assert.equal((await restricted(contract, bad)).length, 1, bad);
  assert.deepEqual(await restricted(contract, "import x from '../../core/next-actions.js';"), []);
  // The doctor's report schema (zod only) is the engine's; the contract hands it to the renderer.
  assert.deepEqual(await restricted(contract, "import x from '../../core/diagnostics/doctor-report.js';"), []);
  assert.equal((await restricted(contract, "import x from '../../core/diagnostics/doctor.js';")).length, 1);
});
