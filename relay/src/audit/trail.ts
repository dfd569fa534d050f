import type { Logger } from 'pino';
import type { RelaySigningKey } from '@airlock/shared';
import type { RelayConfig } from '../config.js';
import type { AuditEntry, AuditEventInput, RelayStore } from '../store/types.js';
import { publicKeyPemOf } from '../signing-key.js';
import { AuditLog } from './audit-log.js';
import { Checkpointer } from './checkpoints.js';
import type { AuditRecorder } from './recorder.js';
import { SinkPusher } from './sink-pusher.js';
import { createSinks } from './sinks.js';

/** The relay's whole audit machinery: the chained log (+ JSONL copy), signed checkpoints and sink pushers. */
export interface AuditTrail extends AuditRecorder {
  log: AuditLog;
  checkpointer: Checkpointer;
  sinks: SinkPusher;
  /** Final checkpoint, copy flushed, sinks stopped (what they missed they deliver after the next start). */
  close(): Promise<void>;
}

export async function openAuditTrail(deps: {
  store: RelayStore;
  config: RelayConfig;
  signingKey: RelaySigningKey;
  logger: Logger;
}): Promise<AuditTrail> {
  const { store, config, logger } = deps;
  const dataDir = config.dataDir;
  // Configuration errors surface before anything starts, so nothing is left running.
  if (config.auditSinks.length > 0 && !dataDir)
    throw new Error('auditSinks need a dataDir (sink cursors and file paths live there)');
  const sinkTargets = createSinks(config.auditSinks, dataDir ?? '.');
  const log = await AuditLog.open({ store: store.audit, logger, ...(dataDir ? { dataDir } : {}) });
  const checkpointer = new Checkpointer({
    store: store.audit,
    privateKey: deps.signingKey.privateKey,
    publicKeyPem: publicKeyPemOf(deps.signingKey),
    logger,
    beforeSign: (seq) => log.copyUpTo(seq),
  });
  try {
    await checkpointer.start();
  } catch (error) {
    // The last checkpoint could not be read (its timer starts only after): the JSONL copy this
    // opened must not stay open.
    await log.close();
    throw error;
  }
  const sinks = new SinkPusher({ store: store.audit, sinks: sinkTargets, logger });
  sinks.start();
  log.onAppended((entry) => {
    checkpointer.noteEntry(entry);
    sinks.wake();
  });
  return {
    log,
    checkpointer,
    sinks,
    record: (event: AuditEventInput): Promise<AuditEntry | undefined> => log.record(event),
    async close() {
      // In this order (the last checkpoint copies the log first); each part is closed even if
      // one before it failed, and the first failure is reported.
      let failure: { error: unknown } | undefined;
      for (const step of [() => checkpointer.close(), () => sinks.close(), () => log.close()]) {
        try {
          await step();
        } catch (error) {
          failure ??= { error };
        }
      }
      if (failure) throw failure.error;
    },
  };
}
