import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PathRuns } from './path-runs.js';

test("a path's runs: MB/s and CPU per GB per program, the bench's own share left out of the total", () => {
  const runs = new PathRuns();
  runs.add(500_000_000, 100, { relay: 1, agent: 2, bench: 4 });
  runs.add(500_000_000, 120, { relay: 1.5, agent: 2.5, bench: 4 });
  const r = runs.result();
  assert.deepEqual(r.mbps.runs, [100, 120]);
  assert.deepEqual(r.cpuSecondsPerGB.relay!.runs, [2, 3]);
  assert.deepEqual(r.cpuSecondsPerGB.agent!.runs, [4, 5]);
  assert.deepEqual(r.cpuSecondsPerGB.bench!.runs, [8, 8]);
  assert.deepEqual(r.totalCpuSecondsPerGB.runs, [6, 8]);
  assert.equal(r.totalCpuSecondsPerGB.median, 7);
});
