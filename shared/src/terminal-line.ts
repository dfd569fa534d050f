import { closeSync, openSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { ReadStream, WriteStream } from 'node:tty';

/** The person cancelled (Ctrl-C, Ctrl-D on an empty line) or the terminal closed. */
export class TerminalInputCancelled extends Error {
  override name = 'TerminalInputCancelled';
}

const cancelled = (why = 'cancelled') => new TerminalInputCancelled(why);

/**
 * Reads one line in raw mode: hidden (`echo: false`) or echoed, with backspace and Ctrl-U.
 * Ctrl-C, or Ctrl-D on an empty line, cancels.
 */
export function readTerminalLine(
  input: ReadStream,
  output: NodeJS.WritableStream,
  prompt: string,
  echo: boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chars: string[] = [];
    let escape: 'none' | 'start' | 'sequence' = 'none';
    const wasRaw = input.isRaw;
    const done = (error?: TerminalInputCancelled) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(chars.join(''));
    };
    const onEnd = () => done(cancelled('the terminal closed'));
    // A local decoder, not input.setEncoding(): stdin must stay a byte stream for what runs after.
    const decoder = new StringDecoder('utf8');
    const onData = (data: Buffer) => {
      for (const ch of decoder.write(data)) {
        // Arrow keys and the like arrive as ESC [ … final-byte; ignore the whole sequence.
        if (escape === 'start') {
          escape = ch === '[' || ch === 'O' ? 'sequence' : 'none';
          continue;
        }
        if (escape === 'sequence') {
          if (ch >= '@' && ch <= '~') escape = 'none';
          continue;
        }
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\x03') return done(cancelled());
        if (ch === '\x04') {
          if (chars.length === 0) return done(cancelled());
          continue;
        }
        if (ch === '\x1b') escape = 'start';
        else if (ch === '\x7f' || ch === '\b') {
          if (chars.pop() !== undefined && echo) output.write('\b \b');
        } else if (ch === '\x15') {
          if (echo) output.write('\b \b'.repeat(chars.length));
          chars.length = 0;
        } else if (ch >= ' ') {
          chars.push(ch);
          if (echo) output.write(ch);
        }
      }
    };
    // Raw (no echo) before the prompt appears: whoever answers the prompt at once is not echoed.
    input.setRawMode(true);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
    output.write(prompt);
  });
}

/** The controlling terminal (/dev/tty), like ssh asks on, when there is one. */
export function openControllingTerminal(): { input: ReadStream; output: WriteStream } | undefined {
  if (process.platform === 'win32') return undefined;
  let inFd: number | undefined;
  try {
    inFd = openSync('/dev/tty', 'r');
    const outFd = openSync('/dev/tty', 'w');
    return { input: new ReadStream(inFd), output: new WriteStream(outFd) };
  } catch {
    // ENXIO: no controlling terminal (a service, a CI job, a pipe from another program).
    if (inFd !== undefined) closeSync(inFd);
    return undefined;
  }
}

/**
 * Asks one line on a terminal: stdin when it is one, else the controlling terminal. Resolves
 * undefined when there is no terminal at all; rejects with TerminalInputCancelled.
 */
export async function askOnTerminal(prompt: string, echo: boolean): Promise<string | undefined> {
  if (process.stdin.isTTY) return readTerminalLine(process.stdin, process.stderr, prompt, echo);
  const tty = openControllingTerminal();
  if (!tty) return undefined;
  try {
    return await readTerminalLine(tty.input, tty.output, prompt, echo);
  } finally {
    tty.input.destroy();
    tty.output.destroy();
  }
}
