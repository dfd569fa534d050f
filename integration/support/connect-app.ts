/**
 * Connect's API service in the test process, as the desktop app runs it, against a test system's
 * relay: requests go through the same dispatch (schema checks) as IPC and the WebSocket, events are
 * recorded, and the authenticator codes come from the secret the enrollment handed out.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { ok } from '@airlock/shared';
import { totpCodeAt } from '@airlock/relay';
import { createDispatch } from '@airlock/connect/api/dispatch';
import { firstUsableTotpStep } from './totp-step.js';
import type { ApiEvent, ApiParams, ApiRequestName, ApiResponse, ApiResult } from '@airlock/connect/api/contract';
import { ConnectService } from '@airlock/connect/api/service/connect-service';
import type { Platform } from '@airlock/connect/api/service/platform';
import type { SecretCache } from '@airlock/connect';

export interface ConnectApp {
  home: string;
  service: ConnectService;
  events: ApiEvent[];
  call<N extends ApiRequestName>(name: N, params: ApiParams<N>): Promise<ApiResponse<ApiResult<N>>>;
  /** Like `call`, failing the test when the request fails. */
  must<N extends ApiRequestName>(name: N, params: ApiParams<N>): Promise<ApiResult<N>>;
  /** The first recorded event (from `from` on) that `match` accepts, waiting up to `ms`. */
  event<T extends ApiEvent['type']>(
    type: T,
    match?: (e: Extract<ApiEvent, { type: T }>) => boolean,
    ms?: number,
  ): Promise<Extract<ApiEvent, { type: T }>>;
  close(): Promise<void>;
}

/** A secret cache in memory (the OS keychain is not what these tests are about). */
export function memorySecretCache(): SecretCache {
  let value: Buffer | undefined;
  return {
    backend: 'memory (test)',
    status: async () => ({ available: true }),
    get: async () => ok(value),
    set: async (v) => ((value = Buffer.from(v)), ok(undefined)),
    delete: async () => {
      const had = value !== undefined;
      value = undefined;
      return ok(had);
    },
  };
}

export function startConnectApp(
  dir: string,
  options: {
    platform?: Platform;
    vmPollMs?: number;
    /** An enrolled, logged-in Connect home to use. */ home?: string;
    /** How requests reach the relay (to watch them). */
    fetch?: ConstructorParameters<typeof ConnectService>[0]['fetch'];
  } = {},
): ConnectApp {
  const home = options.home ?? mkdtempSync(join(dir, 'app-home-'));
  const cache = memorySecretCache();
  const service = new ConnectService({
    home,
    secretCacheFor: () => cache,
    ...(options.platform ? { platform: options.platform } : {}),
    vmPollMs: options.vmPollMs ?? 200,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const dispatch = createDispatch(service);
  const events: ApiEvent[] = [];
  const waiters = new Set<() => void>();
  service.onEvent((e) => {
    events.push(e);
    for (const w of [...waiters]) w();
  });
  const call = (name: ApiRequestName, params: unknown) => dispatch(name, params);
  return {
    home,
    service,
    events,
    call: call as ConnectApp['call'],
    async must(name, params) {
      const r = await call(name, params);
      if (!r.ok) throw new Error(`${name} failed: ${JSON.stringify(r.error)}`);
      return r.value as never;
    },
    event(type, match = () => true, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find((e) => e.type === type && match(e as never));
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found as never);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${type} event within ${ms} ms; saw ${events.map((e) => e.type).join(', ')}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () => service.close(),
  };
}

/**
 * Authenticator codes as a phone gives them, one per login: each for a step the relay has not
 * burnt yet and still accepts for a while (`firstUsableTotpStep`), waiting for the clock when the
 * next one is not within the relay's ±1 step yet.
 */
export function authenticator(secret: string) {
  let lastStep = 0;
  return {
    async next(): Promise<string> {
      const step = Math.max(firstUsableTotpStep(Date.now()), lastStep + 1);
      const waitMs = (step - 1) * 30_000 - Date.now() + 50;
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
      lastStep = step;
      return totpCodeAt(secret, step * 30_000);
    },
  };
}
