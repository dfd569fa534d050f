import type { IncomingHttpHeaders } from 'node:http';
import { request, type Agent } from 'node:https';

/**
 * Node's own https client rather than undici's fetch: the data socket already needs it (ws), and
 * undici was 1.4 MB of the CLI's bundle, ~60 ms of every `airlock exec`'s start-up, for a dozen
 * small JSON requests.
 */

/** A relay's answer is a small JSON document; one this large is a relay misbehaving, not data. */
export const MAX_RELAY_ANSWER_BYTES = 16 * 1024 * 1024;

export interface RelayRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** The client's pinned agent (`PinnedHttpsAgent`): no byte of the request reaches an unpinned peer. */
  agent: Agent;
}

/** The relay's answer, read whole. */
export interface RelayAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The relay sent more than MAX_RELAY_ANSWER_BYTES; the connection was dropped mid-answer. */
export class RelayAnswerTooLargeError extends Error {
  override readonly name = 'RelayAnswerTooLargeError';
  constructor(readonly limit: number) {
    super(`the relay's answer was larger than ${limit / (1024 * 1024)} MiB`);
  }
}

/** One request; rejects on connection failure, the signal (the caller's deadline), a cut or an oversized answer. */
export type RelayFetch = (url: string, init: RelayRequest) => Promise<RelayAnswer>;

export const relayHttpsFetch: RelayFetch = async (url, init) => {
  for (;;) {
    try {
      return await requestOnce(url, init);
    } catch (e) {
      // A kept-alive connection the relay closed just as this request went out on it (its idle
      // timeout, a restart) never reached the relay: a GET is asked again, on the next kept-alive
      // connection or a new one (the pool is finite, and the caller's deadline holds). Anything
      // else, and every POST, fails as it is: the relay may have acted on it.
      if (init.method === 'GET' && (e as { staleConnection?: boolean }).staleConnection && !init.signal.aborted)
        continue;
      throw e;
    }
  }
};

function requestOnce(url: string, init: RelayRequest): Promise<RelayAnswer> {
  return new Promise<RelayAnswer>((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      init.signal.removeEventListener('abort', onAbort);
    };
    const fail = (e: Error) => {
      if (settled) return;
      settle();
      reject(e);
    };
    // Node's request honours its signal only once the agent has handed it a socket; the pinned
    // connect before that has a timeout of its own, but the caller's deadline is this one.
    const aborted = () =>
      Object.assign(new Error('the request was aborted'), { name: 'AbortError', cause: init.signal.reason });
    const onAbort = () => {
      fail(aborted());
      req.destroy();
    };
    if (init.signal.aborted) return reject(aborted()); // not even a connection
    const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
    const headers = body ? { ...init.headers, 'content-length': String(body.length) } : init.headers;
    const req = request(url, { method: init.method, headers, agent: init.agent, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RELAY_ANSWER_BYTES) {
          fail(new RelayAnswerTooLargeError(MAX_RELAY_ANSWER_BYTES));
          req.destroy();
        } else chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settle();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
      // A connection cut in the middle of the answer: never taken for a whole (shorter) answer.
      res.on('close', () => {
        if (!res.complete)
          fail(Object.assign(new Error('the relay closed the connection mid-answer'), { code: 'ECONNRESET' }));
      });
    });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (e: NodeJS.ErrnoException) =>
      fail(req.reusedSocket && !answered && e.code === 'ECONNRESET' ? Object.assign(e, { staleConnection: true }) : e),
    );
    init.signal.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
}
