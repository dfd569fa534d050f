import { sign, verify } from 'node:crypto';
import type { Logger } from 'pino';
import type { RelaySigningKey, ReadinessResponse } from '@airlock/shared';
import type { RelayStore } from '../store/types.js';

/** A probe result is reused this long: a flood of `/readyz` costs at most one store probe per second. */
const CACHE_MS = 1000;
const PROBE_INPUT = Buffer.from('airlock readiness probe');

/** What is wrong, for the public port: which check failed, not the file paths or errors behind it. */
const PUBLIC_REASONS = {
  store: 'the relay cannot reach its store',
  signingKey: 'the relay has no usable signing key',
} as const;

/**
 * `/readyz`: the relay can serve when its store answers (present, readable, writable within a
 * short bound) and its signing key signs. The detailed reasons go to the relay log (when the
 * answer changes) and to the metrics listener; the public port says only which check failed.
 */
export class Readiness {
  private cached: { at: number; report: ReadinessResponse } | undefined;
  private pending: Promise<ReadinessResponse> | undefined;
  private lastStatus: ReadinessResponse['status'] | undefined;

  constructor(
    private readonly deps: {
      store: Pick<RelayStore, 'probe'>;
      signingKey: RelaySigningKey;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  async check(): Promise<ReadinessResponse> {
    const t = Date.now();
    if (this.cached && t - this.cached.at < CACHE_MS) return this.cached.report;
    this.pending ??= this.run().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** The same answer without internal detail (paths, SQLite errors). */
  static publicView(r: ReadinessResponse): ReadinessResponse {
    const strip = (name: keyof typeof PUBLIC_REASONS, c: ReadinessResponse['checks']['store']) => ({
      ok: c.ok,
      ...(c.ok ? {} : { reason: PUBLIC_REASONS[name] }),
    });
    return {
      status: r.status,
      time: r.time,
      checks: { store: strip('store', r.checks.store), signingKey: strip('signingKey', r.checks.signingKey) },
    };
  }

  private async run(): Promise<ReadinessResponse> {
    const probe = await this.deps.store.probe();
    const store = probe.ok
      ? { ok: true, latencyMs: probe.latencyMs }
      : { ok: false, reason: probe.reason, latencyMs: probe.latencyMs };
    const signingKey = this.signingKeyCheck();
    const status = store.ok && signingKey.ok ? 'ready' : 'not_ready';
    const report: ReadinessResponse = {
      status,
      time: new Date(this.deps.now?.() ?? Date.now()).toISOString(),
      checks: { store, signingKey },
    };
    if (status !== this.lastStatus) {
      if (status === 'ready') this.deps.logger.info({ checks: report.checks }, 'relay is ready');
      else this.deps.logger.error({ checks: report.checks }, 'relay is not ready');
      this.lastStatus = status;
    }
    this.cached = { at: Date.now(), report };
    return report;
  }

  /** Loaded and usable: an Ed25519 signature that verifies with the public half. */
  private signingKeyCheck(): { ok: boolean; reason?: string } {
    const { privateKey, publicKey } = this.deps.signingKey;
    try {
      if (privateKey.asymmetricKeyType !== 'ed25519') return { ok: false, reason: 'the signing key is not Ed25519' };
      const signature = sign(null, PROBE_INPUT, privateKey);
      if (!verify(null, PROBE_INPUT, publicKey, signature))
        return { ok: false, reason: 'the signing key and its public key do not match' };
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `the signing key does not sign: ${(e as Error).message}` };
    }
  }
}
