import { endQuietlyWhenReaderGoes } from '@airlock/shared';
import { EXIT } from './errors.js';
import { realHandlers } from './handlers.js';
import { installCliProcessGuards } from './process-policy.js';
import { buildProgram } from './program.js';

installCliProcessGuards();

// A reader that goes away (`airlock vms | head -1`) is not an error worth a stack trace.
endQuietlyWhenReaderGoes();

const { main } = buildProgram(realHandlers);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const error = e as Error;
    process.stderr.write(
      `airlock: internal error: ${process.env.AIRLOCK_DEBUG ? (error.stack ?? String(e)) : (error.message ?? String(e))}` +
        ' (set AIRLOCK_DEBUG=1 for details)\n',
    );
    process.exit(EXIT.internal);
  },
);
