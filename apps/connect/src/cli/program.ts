import { Command, CommanderError, Option } from 'commander';
import { VM_ID_RULE } from '@airlock/shared';
import { execCommandLine } from './command-line.js';
import { CliError, EXIT, formatCliError, UsageError } from './errors.js';
import { ForwardSpecError, parseForwardSpecs, type ForwardSpec } from './forward-spec.js';
import { addKeyProtectionCommands } from './commands/key-protection-commands.js';
import type { EnrollOptions } from './commands/enroll.js';
import type { UiOptions } from './commands/ui.js';
import type { GlobalOptions } from './context.js';

export interface LoginOptions {
  remember?: boolean;
  json?: boolean;
  /** Gone since enrollment: accepted only to say so. */
  relay?: string;
  user?: string;
}

/** What each command does once its arguments are parsed; each returns the process exit code. */
export interface Handlers {
  /** `code` undefined: read it from `--code-file`, stdin or the terminal (argv is visible in `ps`). */
  enroll(relayUrl: string, code: string | undefined, options: EnrollOptions): Promise<number>;
  login(options: LoginOptions): Promise<number>;
  logout(): Promise<number>;
  keyShow(options: { json?: boolean }): Promise<number>;
  vms(options: { json?: boolean }): Promise<number>;
  shell(vm: string, options: { tty?: boolean }): Promise<number>;
  exec(vm: string, command: string, options: { stdin: boolean }): Promise<number>;
  forward(vm: string, forwards: ForwardSpec[], options: { json?: boolean }): Promise<number>;
  sftpStdio(vm: string): Promise<number>;
  doctor(vm: string | undefined, options: { port?: number; json?: boolean }): Promise<number>;
  supportBundle(file: string | undefined, options: { lines: number }): Promise<number>;
  ui(options: UiOptions): Promise<number>;
}

export interface ProgramIo {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

const processIo: ProgramIo = {
  writeOut: (t) => process.stdout.write(t),
  writeErr: (t) => process.stderr.write(t),
};

function portArg(value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n < 1 || n > 65535) throw new UsageError(`bad port "${value}": use 1–65535`);
  return n;
}

function vmArg(value: string): string {
  if (!VM_ID_RULE.pattern.test(value)) throw new UsageError(`bad VM name "${value}": ${VM_ID_RULE.message}`);
  return value;
}

function lineCount(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 100_000)) throw new UsageError(`bad line count "${value}": a number 1–100000`);
  return n;
}

/**
 * Builds the `airlock` command line. Parsing is separate from doing (`handlers`) so argument
 * handling is testable without a relay.
 */
export function buildProgram(makeHandlers: (global: GlobalOptions) => Handlers, io: ProgramIo = processIo) {
  let exitCode: number = EXIT.ok;
  const program = new Command('airlock')
    .description('Airlock Connect: end-to-end encrypted shells, commands, files and ports on enclave VMs')
    .option('-v, --verbose', 'debug logs on stderr (JSON lines, every line with the session id)')
    .addOption(new Option('--log-level <level>', 'log level on stderr').env('AIRLOCK_LOG_LEVEL'))
    .enablePositionalOptions()
    .showHelpAfterError('(run `airlock --help` for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.writeOut, writeErr: io.writeErr });
  const handlers = () => makeHandlers(program.opts<GlobalOptions>());
  const run = (fn: () => Promise<number>) => async () => {
    exitCode = await fn();
  };

  program
    .command('enroll')
    .description('enroll this device with a relay: new key, password, authenticator app')
    .argument('<relay-url>', 'the relay, e.g. https://relay.example.org:7443')
    .argument(
      '[code]',
      'the one-time enrollment code from your admin (u1.…); "-" reads it from stdin; omit it to be asked (other users can see arguments in `ps`)',
    )
    .option('--code-file <file>', 'read the one-time code from this file')
    .option('--device-name <name>', "how the relay lists this device (default: this computer's name)")
    .option('--remember', 'remember the password in the OS keychain on this device')
    .option('--force', "replace this device's existing enrollment and key")
    .option('--json', 'print the result as JSON')
    .action((relayUrl: string, code: string | undefined, opts: EnrollOptions) =>
      run(() => handlers().enroll(relayUrl, code, opts))(),
    );

  program
    .command('login')
    .description('log in for 30 minutes: your password (or the keychain) and an authenticator code')
    .option('--remember', 'remember the password in the OS keychain on this device')
    .option('--json', 'print the result as JSON')
    .addOption(new Option('--relay <url>').hideHelp())
    .addOption(new Option('--user <name>').hideHelp())
    .action((opts: LoginOptions) => run(() => handlers().login(opts))());

  program
    .command('logout')
    .description('forget the saved access token and its client certificate')
    .action(() => run(() => handlers().logout())());

  const key = program.command('key').description('your device key');
  key
    .command('show')
    .description('print your public key and its fingerprint (no password needed)')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => run(() => handlers().keyShow(opts))());

  // passwd, backup export|import, keychain status|forget: they build their own context.
  addKeyProtectionCommands(program, (fn) => run(fn)());

  program
    .command('vms')
    .description('list the VMs you may reach, with online status')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => run(() => handlers().vms(opts))());

  program
    .command('shell')
    .description('interactive shell on a VM; the remote exit code becomes ours')
    .argument('<vm>', 'VM name', vmArg)
    .option('-t, --tty', 'force a terminal (pty) even when stdin is not a terminal')
    .option('-T, --no-tty', 'no terminal (pty) even when stdin is a terminal')
    .action((vm: string, opts: { tty?: boolean }) => run(() => handlers().shell(vm, opts))());

  program
    .command('exec')
    .description('run a command on a VM: stdout/stderr separate, stdin forwarded, exit code propagated')
    .argument('<vm>', 'VM name', vmArg)
    .argument(
      '<command...>',
      'after --: one word is a shell command line; several are an argv (quoted for the remote shell)',
    )
    .option('-n, --no-stdin', 'do not forward stdin (the command sees end of input at once)')
    .passThroughOptions()
    .usage('[options] <vm> -- <command...>')
    .action((vm: string, command: string[], opts: { stdin: boolean }) =>
      run(() => {
        // With pass-through options the `--` separator arrives as an argument.
        const words = command[0] === '--' ? command.slice(1) : command;
        if (words.length === 0) throw new UsageError('no command given', 'usage: airlock exec <vm> -- <command…>');
        return handlers().exec(vm, execCommandLine(words), opts);
      })(),
    );

  program
    .command('forward')
    .description('forward local ports on 127.0.0.1 to ports inside a VM until Ctrl-C')
    .argument('<vm>', 'VM name', vmArg)
    .argument('<forward...>', '<remotePort>[:<localPort>] — local port 0 or omitted picks a free one')
    .option('--json', 'print one JSON line per forward')
    .action((vm: string, specs: string[], opts: { json?: boolean }) =>
      run(() => {
        let forwards: ForwardSpec[];
        try {
          forwards = parseForwardSpecs(specs);
        } catch (e) {
          if (e instanceof ForwardSpecError) throw new UsageError(e.message);
          throw e;
        }
        return handlers().forward(vm, forwards, opts);
      })(),
    );

  program
    .command('sftp-stdio')
    .description('the sftp subsystem on stdin/stdout, for: sftp -D "airlock sftp-stdio <vm>"')
    .argument('<vm>', 'VM name', vmArg)
    .action((vm: string) => run(() => handlers().sftpStdio(vm))());

  program
    .command('doctor')
    .description('check everything between this computer and a VM, step by step; exit 0 when all is well, 1 otherwise')
    .argument('[vm]', 'the VM to check (default: every VM you may use)', vmArg)
    .option('--port <port>', 'check this port: allowed for you on the VM, and something listening on it', portArg)
    .option('--json', 'print the report as JSON (documented in the README; fields are only ever added)')
    .action((vm: string | undefined, opts: { port?: number; json?: boolean }) =>
      run(() => handlers().doctor(vm, opts))(),
    );

  program
    .command('support-bundle')
    .description(
      'write one archive for a helpdesk ticket: the doctor report, versions, config and recent logs — no secrets',
    )
    .argument('[file]', 'where to write it (default: airlock-support-<time>.tar.gz here)')
    .option('--lines <n>', 'how many of the last log lines to include', lineCount, 2000)
    .action((file: string | undefined, opts: { lines: number }) => run(() => handlers().supportBundle(file, opts))());

  program
    .command('ui')
    .description('open Connect in your browser (the desktop app, served on 127.0.0.1 for you only) until Ctrl-C')
    .option('--port <port>', 'listen on this port (default: any free one)', portArg)
    .option('--no-open', 'print the address instead of starting a browser')
    .action((opts: UiOptions) => run(() => handlers().ui(opts))());

  /** Parses and runs; never throws for expected failures. Resolves with the exit code. */
  async function main(argv: string[]): Promise<number> {
    exitCode = EXIT.ok;
    try {
      await program.parseAsync(argv, { from: 'user' });
      return exitCode;
    } catch (e) {
      if (e instanceof CommanderError) {
        // Commander already printed help or its message.
        return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      }
      if (e instanceof CliError) {
        io.writeErr(formatCliError(e) + '\n');
        return e.exitCode;
      }
      throw e;
    }
  }
  return { program, main };
}
