// Short fuzz run of Connect's SSH front door and parsers (in this process), inside `npm test`.
// A failure prints the seed: FUZZ_SEED=<seed> npm test -- fuzz/ replays it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzSeed, problems, connectDoors, SHORT } from './run.js';
import { printTable } from './stats.js';

test(`fuzz: Connect's SSH front door and parsers (in this process)`, { timeout: 170_000 }, async () => {
  const seed = fuzzSeed();
  const stats = await connectDoors(SHORT, seed);
  printTable(stats, (l) => process.stdout.write(`# ${l}\n`));
  assert.ok(stats.every((s) => s.inputs > 0));
  assert.deepEqual(problems(stats), [], `seed ${seed}`);
});
