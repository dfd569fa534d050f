import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileSessionJournal } from './session-journal.js';

test('the session journal: starts and ends joined by id, newest first; a line that does not parse is skipped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let clock = Date.parse('2026-11-30T10:00:00Z');
  const journal = new FileSessionJournal(dir, () => new Date((clock += 1000)));
  journal.started('s1', 'lab', 'shell');
  journal.started('s2', 'lab', 'forward');
  journal.ended('s1', 'lab', { outcome: 'closed', reason: 'closed' });
  appendFileSync(join(dir, 'sessions.jsonl'), '{not json\n');
  journal.ended('s3', 'gpu', { outcome: 'failed', code: 'agent_unavailable', reason: 'the agent did not join' });
  journal.started('s4', 'lab', 'doctor');
  assert.deepEqual(journal.recent(10), [
    { sid: 's4', vm: 'lab', outcome: 'open', startedAt: '2026-11-30T10:00:05.000Z', purpose: 'doctor' },
    {
      sid: 's3',
      vm: 'gpu',
      outcome: 'failed',
      endedAt: '2026-11-30T10:00:04.000Z',
      code: 'agent_unavailable',
      reason: 'the agent did not join',
    },
    {
      sid: 's1',
      vm: 'lab',
      outcome: 'closed',
      startedAt: '2026-11-30T10:00:01.000Z',
      purpose: 'shell',
      endedAt: '2026-11-30T10:00:03.000Z',
      reason: 'closed',
    },
    { sid: 's2', vm: 'lab', outcome: 'open', startedAt: '2026-11-30T10:00:02.000Z', purpose: 'forward' },
  ]);
  assert.deepEqual(
    journal.recent(2).map((s) => s.sid),
    ['s4', 's3'],
  );
});
