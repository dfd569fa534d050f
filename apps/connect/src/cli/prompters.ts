// The CLI's ways to ask the person: the terminal (hidden input for passwords) or an askpass program.
import { spawn } from 'node:child_process';
import { askOnTerminal, err, ok, openControllingTerminal, TerminalInputCancelled, type Result } from '@airlock/shared';
import { passwordWeakness, sameSecret } from '../core/identity/password-rules.js';
import { PromptError, promptFailure, type PromptFailure, type Prompter } from '../core/identity/prompter.js';

export const NO_TERMINAL_MESSAGE = 'no terminal to ask for the password; run in a terminal or set AIRLOCK_ASKPASS';

const cancelled = (why = 'cancelled') => new PromptError({ code: 'cancelled', message: why });

/** Asks on a terminal: stdin when it is one, else the controlling terminal (/dev/tty), like ssh. */
export class TtyPrompter implements Prompter {
  constructor(private readonly log: NodeJS.WritableStream = process.stderr) {}

  password(prompt: string): Promise<string> {
    return this.ask(prompt, false);
  }

  text(prompt: string): Promise<string> {
    return this.ask(prompt, true);
  }

  info(message: string): void {
    this.log.write(message + '\n');
  }

  private async ask(prompt: string, echo: boolean): Promise<string> {
    let answer: string | undefined;
    try {
      answer = await askOnTerminal(prompt, echo);
    } catch (e) {
      if (e instanceof TerminalInputCancelled) throw cancelled(e.message);
      throw e;
    }
    if (answer === undefined) throw new PromptError({ code: 'no_terminal', message: NO_TERMINAL_MESSAGE });
    return answer;
  }
}

/**
 * Runs `AIRLOCK_ASKPASS <prompt>` and reads the answer from its stdout (like SSH_ASKPASS).
 * `AIRLOCK_ASKPASS_KIND` tells the program whether to hide the input (`password`) or not (`text`).
 */
export class AskpassPrompter implements Prompter {
  constructor(
    readonly program: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly log: NodeJS.WritableStream = process.stderr,
  ) {}

  password(prompt: string): Promise<string> {
    return this.ask(prompt, 'password');
  }

  text(prompt: string): Promise<string> {
    return this.ask(prompt, 'text');
  }

  info(message: string): void {
    this.log.write(message + '\n');
  }

  private ask(prompt: string, kind: 'password' | 'text'): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.program, [prompt], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...this.env, AIRLOCK_ASKPASS_KIND: kind },
      });
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.on('error', (e) =>
        reject(
          new PromptError({
            code: 'askpass_failed',
            message: `cannot run AIRLOCK_ASKPASS (${this.program}): ${e.message}`,
          }),
        ),
      );
      child.on('close', (code, signal) => {
        const answer = Buffer.concat(out);
        const text = answer.toString('utf8').replace(/\r?\n$/, '');
        answer.fill(0);
        if (code === 0) resolve(text);
        else reject(cancelled(`cancelled (AIRLOCK_ASKPASS exited with ${signal ?? code})`));
      });
    });
  }
}

/** Used when nobody can be asked: every prompt fails at once with what to do. */
export class NoTerminalPrompter implements Prompter {
  password(): Promise<string> {
    return Promise.reject(new PromptError({ code: 'no_terminal', message: NO_TERMINAL_MESSAGE }));
  }
  text(): Promise<string> {
    return this.password();
  }
  info(message: string): void {
    process.stderr.write(message + '\n');
  }
}

/**
 * The CLI's prompter: `AIRLOCK_ASKPASS` when set (an explicit choice wins, as scripts and GUIs
 * rely on it), else the terminal. Without a terminal the first prompt fails with what to do.
 */
export function createPrompter(env: NodeJS.ProcessEnv = process.env): Prompter {
  const askpass = env.AIRLOCK_ASKPASS?.trim();
  if (askpass) return new AskpassPrompter(askpass, env);
  if (process.stdin.isTTY) return new TtyPrompter();
  const probe = openControllingTerminal();
  if (!probe) return new NoTerminalPrompter();
  probe.input.destroy();
  probe.output.destroy();
  return new TtyPrompter();
}

export type NewPasswordFailure = PromptFailure | { code: 'password_rejected'; message: string };

/**
 * Asks for a new password twice; a weak one or a mismatch is explained and asked again, up to
 * `rounds` times. `label` names what the password protects ("password", "backup password").
 */
export async function confirmNewPassword(
  prompter: Prompter,
  options: { label?: string; rounds?: number } = {},
): Promise<Result<string, NewPasswordFailure>> {
  const label = options.label ?? 'password';
  const rounds = options.rounds ?? 3;
  try {
    for (let round = 0; round < rounds; round++) {
      const first = await prompter.password(`New ${label}: `);
      const weakness = passwordWeakness(first);
      if (weakness) {
        prompter.info(`${weakness.replace('the password', `the ${label}`)}; try again`);
        continue;
      }
      const second = await prompter.password(`Repeat the new ${label}: `);
      if (sameSecret(first, second)) return ok(first);
      prompter.info(`the two ${label}s do not match; try again`);
    }
  } catch (e) {
    return err(promptFailure(e));
  }
  return err({ code: 'password_rejected', message: `no acceptable new ${label} after ${rounds} tries` });
}
