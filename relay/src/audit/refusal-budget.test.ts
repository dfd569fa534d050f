import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEventInput } from '../store/types.js';
import { RefusalAuditBudget } from './refusal-budget.js';

const refused = (source: string): AuditEventInput => ({
  type: 'api.refused',
  actor: 'anonymous',
  outcome: 'failure',
  source,
  data: { reason: 'bad token' },
});

test("past a source's budget one entry says its refusals are no longer audited one by one", async () => {
  const recorded: AuditEventInput[] = [];
  const budget = new RefusalAuditBudget({ record: async (e) => (recorded.push(e), undefined) }, 2, () => 0);
  for (let i = 0; i < 5; i++) await budget.record('10.0.0.7', refused('10.0.0.7'));
  assert.deepEqual(
    recorded.map((e) => e.type),
    ['api.refused', 'api.refused', 'audit.refusals_suppressed'],
  );
  assert.match(String(recorded[2]!.data!.reason), /^too many refusals from this address; the next 60 s/);
});

test('when the table of addresses is full, the entry says the budget was shared, not that this address used it alone', async () => {
  const recorded: AuditEventInput[] = [];
  const budget = new RefusalAuditBudget({ record: async (e) => (recorded.push(e), undefined) }, 1, () => 0, 2);
  for (const source of ['10.0.0.1', '10.0.0.2'])
    for (let n = 0; n < 2; n++) await budget.record(source, refused(source));
  recorded.length = 0;
  await budget.record('10.0.0.3', refused('10.0.0.3'));
  await budget.record('10.0.0.4', refused('10.0.0.4'));
  assert.deepEqual(
    recorded.map((e) => [e.type, e.source]),
    [
      ['api.refused', '10.0.0.3'],
      ['audit.refusals_suppressed', '10.0.0.4'],
    ],
  );
  assert.match(String(recorded[1]!.data!.reason), /^too many refusals from many addresses at once/);
});
