import * as z from 'zod';
import {
  DATA_FRAME_MAX_BYTES,
  DATA_FRAME_MIN_BYTES,
  DEFAULT_RESUME_WINDOW_SECONDS,
  parseRelayUrl,
} from '@airlock/shared';
import { AuditSinksConfig } from './audit/sinks.js';

/**
 * Everything a relay instance can be told. Defaults are the embedded single-box setup. `dataDir`
 * holds the SQLite store, the signing key, the TLS key and the audit copy; without it (tests,
 * benchmarks) the store is in memory and the keys are ephemeral.
 */
export const RelayConfig = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (tests, benchmarks). */
    port: z.number().int().min(0).max(65535).default(7443),
    /** Holds relay.db, the keys and the audit copy. Omitted: nothing is persisted. */
    dataDir: z.string().min(1).optional(),
    /** How long one side of a session may wait for the other before it is closed. */
    unpairedTimeoutMs: z.number().int().positive().default(15_000),
    /**
     * How long a session whose connection dropped stays open in the records, waiting to be
     * resumed. The ends enforce their own windows; this only decides when the relay writes the
     * close (a little after theirs).
     */
    resumeWindowMs: z
      .number()
      .int()
      .positive()
      .default((DEFAULT_RESUME_WINDOW_SECONDS + 30) * 1000),
    /** Above this many bytes buffered towards one side, the relay stops reading the other side. */
    highWaterMarkBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** Reading resumes once the buffered bytes fall to this many. */
    lowWaterMarkBytes: z
      .number()
      .int()
      .nonnegative()
      .default(256 * 1024),
    /** Largest WebSocket message accepted on any socket (data frames are copied whole). */
    maxPayloadBytes: z
      .number()
      .int()
      .min(DATA_FRAME_MIN_BYTES, `must be at least ${DATA_FRAME_MIN_BYTES}: a data frame carries a whole SSH packet`)
      .default(DATA_FRAME_MAX_BYTES),
    /** An agent's control socket must send `register` within this time. */
    agentRegisterTimeoutMs: z.number().int().positive().default(10_000),
    /**
     * A connection must finish its TLS handshake within this time (Node's default is 2 min: each
     * silent connection would hold a socket, and a stopping relay, that long).
     */
    tlsHandshakeTimeoutMs: z.number().int().positive().max(120_000).default(10_000),
    /** Ping period; a socket that shows no sign of life for a whole period is terminated. */
    pingIntervalMs: z.number().int().positive().default(20_000),
    /** JSON body limit of the REST API. */
    jsonBodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(16 * 1024),
    /** Upper bound on outstanding login challenges kept in memory. */
    maxPendingChallenges: z.number().int().positive().default(10_000),
    /** Sessions one user may have created but not yet paired (each lives ~65 s and dials an agent). */
    maxPendingSessionsPerUser: z.number().int().positive().default(8),
    /** Sessions created but not yet paired, over all users. */
    maxPendingSessions: z.number().int().positive().default(1000),
    /**
     * The URL people and agents use to reach this relay; it goes into enrollment codes.
     * Default: `https://<host>:<port>`.
     */
    publicUrl: z
      .string()
      .refine((u) => parseRelayUrl(u).ok, {
        message:
          'must be the https:// URL of the relay, without a password, query or fragment (e.g. https://relay.example.org:7443)',
      })
      .optional(),
    /** An institution's certificate instead of the self-signed one minted on first start. */
    tls: z
      .object({ certFile: z.string().min(1), keyFile: z.string().min(1) })
      .strict()
      .optional(),
    /** Extra names (DNS or IP) for the self-signed certificate, besides localhost and the loopback addresses. */
    tlsHostnames: z.array(z.string().min(1)).default([]),
    /** Lifetime of a user's access token (and of the client certificate it is bound to). */
    accessTokenTtlSeconds: z
      .number()
      .int()
      .min(10)
      .max(86_400)
      .default(30 * 60),
    /** Lifetime of one-time user enrollment codes and agent enrollment tokens. */
    enrollmentCodeTtlSeconds: z
      .number()
      .int()
      .positive()
      .default(24 * 3600),
    /**
     * How often live sessions and agent links are checked against revocations and kill requests
     * (and unlock or list requests from the CLI are read). At most a minute: this is how long a
     * revoked user may keep a session, so a value meant as seconds must not pass as milliseconds
     * of an hour.
     */
    revocationCheckMs: z
      .number()
      .int()
      .min(10)
      .max(60_000, 'at most 60000 (a minute): a revoked user keeps a live session until the next check')
      .default(1000),
    /** Login failures per user before the account is locked for `lockoutSeconds`. */
    loginMaxFailuresPerUser: z.number().int().positive().default(5),
    /** Login or enrollment failures per source address before it is locked out. */
    maxFailuresPerSource: z.number().int().positive().default(20),
    failureWindowSeconds: z
      .number()
      .int()
      .positive()
      .default(15 * 60),
    lockoutSeconds: z
      .number()
      .int()
      .positive()
      .default(15 * 60),
    /** Unauthenticated requests (challenges, enrollment, token) per source address per minute. */
    unauthenticatedRequestsPerMinute: z.number().int().positive().default(120),
    /**
     * Refused WebSocket upgrades per source address per minute before its upgrades are refused
     * outright; also how many refused access tokens per source and minute are audited one by one.
     */
    refusedUpgradesPerMinute: z.number().int().positive().default(60),
    /**
     * Refusals an agent may report per minute (its VM's budget, with a burst of as many) that
     * reach the audit log; past it they are counted and summed up in one entry.
     */
    agentReportsPerMinute: z.number().int().positive().default(60),
    /** Where audit entries are pushed, one way, at least once. */
    auditSinks: AuditSinksConfig,
    /**
     * Prometheus metrics (`/metrics`, plus `/healthz` and a detailed `/readyz`) on a plain-HTTP
     * listener of their own. Off unless given: a port nobody asked for is one more thing that
     * listens (and collides when two relays share a machine); 127.0.0.1 unless told otherwise.
     */
    metrics: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        /** 0 picks a free port (tests). */
        port: z.number().int().min(0).max(65535),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => !c.metrics || c.metrics.port === 0 || c.metrics.port !== c.port, {
    message: 'metrics need a port of their own, never the public one',
    path: ['metrics', 'port'],
  })
  .refine((c) => c.lowWaterMarkBytes < c.highWaterMarkBytes, {
    message: 'lowWaterMarkBytes must be below highWaterMarkBytes',
    path: ['lowWaterMarkBytes'],
  });

export type RelayConfig = z.output<typeof RelayConfig>;
export type RelayConfigInput = z.input<typeof RelayConfig>;
