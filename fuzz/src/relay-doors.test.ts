// Short fuzz run of the relay's REST endpoints and WebSocket upgrades (a relay child process), inside `npm test`.
// A failure prints the seed: FUZZ_SEED=<seed> npm test -- fuzz/ replays it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzSeed, problems, relayDoors, SHORT } from './run.js';
import { printTable } from './stats.js';

test(
  `fuzz: the relay's REST endpoints and WebSocket upgrades (a relay child process)`,
  { timeout: 170_000 },
  async () => {
    const seed = fuzzSeed();
    const stats = await relayDoors(SHORT, seed);
    printTable(stats, (l) => process.stdout.write(`# ${l}\n`));
    assert.ok(stats.every((s) => s.inputs > 0));
    assert.deepEqual(problems(stats), [], `seed ${seed}`);
  },
);
