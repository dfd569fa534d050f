import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

/** An expected API failure: becomes `{"error":{"code","message"}}` with its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After on a 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, 'not_found', `no route ${req.method} ${req.path}; the API lives under /api/v1`);
};

/**
 * Refuses a request whose declared body is over `limitBytes` before any of it is read, and closes
 * the connection after the answer. body-parser answers a body over its limit only once it has
 * read (and the relay decrypted) all of it — a declared 2 GB took the relay 2.6 s of reading.
 */
export function refuseDeclaredOversizedBody(limitBytes: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length']);
    if (!(declared > limitBytes)) return next();
    next(
      new HttpError(413, 'payload_too_large', `(body): request body is larger than ${limitBytes} bytes`, {
        Connection: 'close',
      }),
    );
  };
}

/** Body-parser errors carry `type` and `status`; everything else unexpected is a 500 without details. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (error instanceof HttpError) {
      // Every refusal is logged with its reason (and the user, once authenticated).
      const user = typeof res.locals.user === 'string' ? res.locals.user : undefined;
      logger.info(
        { method: req.method, path: req.path, user, status: error.status, code: error.code, reason: error.message },
        'request refused',
      );
      for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
      return sendError(res, error.status, error.code, error.message);
    }
    const e = error as { type?: string; status?: number; limit?: number };
    if (e.type === 'entity.parse.failed')
      return sendError(res, 400, 'bad_request', '(body): request body is not valid JSON');
    if (e.type === 'entity.too.large')
      return sendError(res, 413, 'payload_too_large', `(body): request body is larger than ${e.limit} bytes`);
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      return sendError(res, 415, 'unsupported_media_type', '(body): send JSON in UTF-8');
    // The router decodes path parameters; a broken %-escape is the path's fault, not the body's.
    if (error instanceof URIError)
      return sendError(res, 400, 'bad_request', '(path): a part of the path is not valid percent-encoding');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
      return sendError(res, e.status, 'bad_request', '(body): request could not be read');
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error in API route');
    sendError(res, 500, 'internal', 'internal error in the relay; see the relay log');
  };
}
