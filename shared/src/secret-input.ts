import { createReadStream } from 'node:fs';
import { err, ok, type Result } from './result.js';

/** One-time codes are ~100 characters; anything much longer is not a code. */
const MAX_SECRET_INPUT_BYTES = 4096;

export interface SecretInputError {
  code: 'secret_input_unreadable' | 'secret_input_empty' | 'secret_input_too_long';
  message: string;
}

/**
 * The first line of a file or a stream (stdin), trimmed: how the enrollment commands take a
 * one-time code without putting it in argv, where every local user can read it with `ps`.
 */
export async function readSecretLine(
  source: { file: string } | { stream: NodeJS.ReadableStream; name?: string },
  what = 'code',
): Promise<Result<string, SecretInputError>> {
  const from = 'file' in source ? source.file : (source.name ?? 'standard input');
  let text: string;
  try {
    // A file is read as stdin is, up to its first line and never past the bound: --code-file
    // /dev/zero must not fill memory, and a FIFO is read as far as its first line (like stdin,
    // it waits for a writer that has not written one yet).
    text = 'file' in source ? await readFirstLineOfFile(source.file) : await readFirstLine(source.stream);
  } catch (e) {
    if (e instanceof TooLong) return tooLong(what, from);
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return err({ code: 'secret_input_unreadable', message: `cannot read the ${what} from ${from} (${why})` });
  }
  if (Buffer.byteLength(text) > MAX_SECRET_INPUT_BYTES) return tooLong(what, from);
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '');
  if (!line) return err({ code: 'secret_input_empty', message: `no ${what} in ${from}` });
  return ok(line.trim());
}

class TooLong extends Error {}

function tooLong(what: string, from: string): Result<never, SecretInputError> {
  return err({
    code: 'secret_input_too_long',
    message: `${from} holds more than ${MAX_SECRET_INPUT_BYTES} bytes: too long for the ${what}`,
  });
}

async function readFirstLineOfFile(path: string): Promise<string> {
  const stream = createReadStream(path);
  try {
    return await readFirstLine(stream);
  } finally {
    stream.destroy();
  }
}

/** Reads until the first non-empty line ends, or the stream ends; bounded. */
function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (e?: Error) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      if (e) reject(e);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(b);
      size += b.length;
      if (size > MAX_SECRET_INPUT_BYTES) return finish(new TooLong());
      if (/\S\r?\n/.test(Buffer.concat(chunks).toString('utf8'))) finish();
    };
    const onEnd = () => finish();
    const onError = (e: Error) => finish(e);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}
