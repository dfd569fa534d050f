import { describeZodError } from '@airlock/shared/schemas';
import { API_REQUESTS, type ApiRequestName, type ApiResponse } from './contract/index.js';
import type { ConnectService } from './service/connect-service.js';
import { failed, failure } from './service/failures.js';

/** One request from a transport (IPC, WebSocket): a name and parameters, both unchecked. */
export type Dispatch = (name: unknown, params: unknown) => Promise<ApiResponse<unknown>>;

export function isRequestName(name: unknown): name is ApiRequestName {
  return typeof name === 'string' && Object.hasOwn(API_REQUESTS, name);
}

/**
 * The one entrance to the service for every transport: an unknown request or parameters that do
 * not meet the contract are refused with what was wrong (nothing reaches the service); a bug in a
 * handler is logged and answered as an internal error, never thrown back at the transport.
 */
export function createDispatch(service: Pick<ConnectService, 'handlers' | 'log'>): Dispatch {
  return async (name, params) => {
    if (!isRequestName(name))
      return failed(failure('unknown_request', `there is no request "${String(name).slice(0, 80)}"`));
    const parsed = API_REQUESTS[name].params.safeParse(params ?? {});
    if (!parsed.success) return failed(failure('bad_request', `${name}: ${describeZodError(parsed.error)}`));
    try {
      const handler = service.handlers[name] as (p: unknown) => Promise<ApiResponse<unknown>>;
      return await handler(parsed.data);
    } catch (e) {
      service.log.error({ request: name, error: (e as Error).stack ?? String(e) }, 'request failed with a bug');
      return failed(failure('internal', `internal error while handling ${name} (a bug; the log has the detail)`));
    }
  };
}
