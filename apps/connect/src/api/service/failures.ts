import { nextAction, type ConnectError, type NextAction } from '../../core/next-action.js';
import type { ApiFailure, ApiResponse } from '../contract/index.js';

/** A core failure as the API reports it: the same message the CLI prints, the next step as a code. */
export function failureOf(error: ConnectError, extra: Partial<ApiFailure> = {}): ApiFailure {
  const sessionId = 'sessionId' in error && error.sessionId ? error.sessionId : undefined;
  const retryAfterSeconds = 'retryAfterSeconds' in error ? error.retryAfterSeconds : undefined;
  return {
    code: error.code,
    message: error.message,
    action: nextAction(error),
    ...(sessionId ? { sessionId } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    ...extra,
  };
}

/** A failure the API itself names (a bad request, an unknown id…). */
export function failure(code: string, message: string, action: NextAction = 'none'): ApiFailure {
  return { code, message, action };
}

export const done = <T>(value: T): ApiResponse<T> => ({ ok: true, value });
export const failed = (error: ApiFailure): ApiResponse<never> => ({ ok: false, error });
export const failedWith = (error: ConnectError, extra?: Partial<ApiFailure>): ApiResponse<never> =>
  failed(failureOf(error, extra));

/** For handles (terminals, forwards, enrollments) this service does not know (any more). */
export function unknownHandle(what: string, id: string): ApiResponse<never> {
  return failed(failure('not_found', `no ${what} ${id} (it ended, or was never opened here)`));
}
