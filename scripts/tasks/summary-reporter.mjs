// A node:test reporter that counts finished tests (not suites) and writes one JSON line at the
// end, which the test task turns into the closing "N passed, N failed" line.
export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.type === 'test:pass') {
      if (event.data.skip || event.data.todo) skipped++;
      else passed++;
    } else {
      failed++;
      failures.push(`${event.data.file ?? ''} › ${event.data.name}`);
    }
  }
  yield JSON.stringify({ passed, failed, skipped, failures }) + '\n';
}
