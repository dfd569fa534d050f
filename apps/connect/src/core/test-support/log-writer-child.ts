// Test child for rotating-file.test.ts: one of several processes appending to the same rotating
// log at once. Writes `count` numbered JSON lines, each padded to exercise rotation.
import { RotatingFile } from '../logging/rotating-file.js';

const [folder, writer, count, maxBytes] = process.argv.slice(2);
const file = new RotatingFile({
  folder: folder!,
  name: 'connect',
  ext: '.log',
  maxBytes: Number(maxBytes),
  files: 400,
});
for (let i = 0; i < Number(count); i++) file.write(JSON.stringify({ writer, i, pad: 'x'.repeat(100) }));
file.close();
if (file.lastError) {
  process.stderr.write(file.lastError + '\n');
  process.exit(1);
}
