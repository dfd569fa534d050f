/**
 * Redaction paths every Airlock program passes to pino, so that a credential which ends up in
 * a logged object is replaced rather than written. Logging code should not log secrets in the
 * first place; this is the net under it.
 */
export const REDACT_PATHS = [
  'ticket',
  '*.ticket',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'credential',
  '*.credential',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'privateKey',
  '*.privateKey',
];
