import { z } from 'zod';
import { DATA_FRAME_MAX_BYTES } from '@airlock/shared';

/**
 * Everything a relay instance can be told. Defaults are the embedded single-box setup; every
 * field has a default except `dataDir`, which is optional so tests and benchmarks can run a
 * relay with an in-memory directory and an ephemeral signing key.
 */
export const RelayConfig = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (tests, benchmarks). */
    port: z.number().int().min(0).max(65535).default(7443),
    /** Holds directory.json and the signing key. Omitted: nothing is persisted. */
    dataDir: z.string().min(1).optional(),
    /** How long one side of a session may wait for the other before it is closed. */
    unpairedTimeoutMs: z.number().int().positive().default(15_000),
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
    maxPayloadBytes: z.number().int().positive().default(DATA_FRAME_MAX_BYTES),
    /** An agent's control socket must send `register` within this time. */
    agentRegisterTimeoutMs: z.number().int().positive().default(10_000),
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
  })
  .strict()
  .refine((c) => c.lowWaterMarkBytes < c.highWaterMarkBytes, {
    message: 'lowWaterMarkBytes must be below highWaterMarkBytes',
    path: ['lowWaterMarkBytes'],
  });

export type RelayConfig = z.output<typeof RelayConfig>;
export type RelayConfigInput = z.input<typeof RelayConfig>;
