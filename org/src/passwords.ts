import { askOnTerminal, readSecretLine, TerminalInputCancelled } from '@airlock/shared';
import { CliError } from './cli-error.js';

/** A new password for a root or approver key: these guard the whole organisation. */
export const MIN_ORG_PASSWORD_LENGTH = 12;

/**
 * Where a key's password comes from: a file named on the command line (first line; for
 * automation, e.g. a CRL renewal by cron), else the terminal, hidden. Never an argument or an
 * environment variable, which other local users or child processes could read.
 */
export class PasswordSource {
  constructor(private readonly file: string | undefined) {}

  async ask(what: string): Promise<string> {
    if (this.file !== undefined) {
      const r = await readSecretLine({ file: this.file }, `password for ${what}`);
      if (!r.ok) throw new CliError(r.error.message, 'check the file given with the password option');
      return r.value;
    }
    return terminal(`Password for ${what}: `);
  }

  /** A new password: from the file, or typed twice on the terminal. */
  async create(what: string): Promise<string> {
    if (this.file !== undefined) return acceptable(await this.ask(what), what);
    for (let round = 0; round < 3; round++) {
      const first = await terminal(`New password for ${what}: `);
      const weakness = weak(first);
      if (weakness) {
        process.stderr.write(`${weakness}; try again\n`);
        continue;
      }
      if ((await terminal(`Repeat it: `)) === first) return first;
      process.stderr.write('the two passwords differ; try again\n');
    }
    throw new CliError(`no acceptable password for ${what} after 3 tries`);
  }
}

function weak(password: string): string | undefined {
  return [...password].length < MIN_ORG_PASSWORD_LENGTH
    ? `the password is too short (at least ${MIN_ORG_PASSWORD_LENGTH} characters)`
    : undefined;
}

function acceptable(password: string, what: string): string {
  const weakness = weak(password);
  if (weakness) throw new CliError(`the password for ${what}: ${weakness}`);
  return password;
}

async function terminal(prompt: string): Promise<string> {
  let answer: string | undefined;
  try {
    answer = await askOnTerminal(prompt, false);
  } catch (e) {
    if (e instanceof TerminalInputCancelled) throw new CliError(e.message);
    throw e;
  }
  if (answer === undefined)
    throw new CliError('no terminal to ask for the password', 'run in a terminal, or give the password option a file');
  return answer;
}
