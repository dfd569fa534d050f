// Which command a command line names, before commander parses it: the CLI's entry uses it to pick
// how to load the CLI (cached-script.ts), the wrapper (scripts/run-ts.sh) does the same in Bash.

/** The commands that run from the whole-CLI script with its post-run code cache (cached-script.ts). */
export const SCRIPT_COMMANDS: ReadonlySet<string> = new Set([
  'exec',
  'shell',
  'forward',
  'sftp-stdio',
  'vms',
  'doctor',
]);

/** The command word after the CLI's global options (-v/--verbose, --log-level <level>), if any. */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-v' || arg === '--verbose' || arg.startsWith('--log-level=')) continue;
    if (arg === '--log-level') {
      i++;
      continue;
    }
    return arg;
  }
  return undefined;
}

/**
 * The command this command line runs from the cached script, or undefined: a session command,
 * not asking for help (help runs the small split bundle; a help run must not become the cache
 * every later run of the command starts from). What follows `--` is the remote command's own.
 */
export function scriptCommand(args: readonly string[]): string | undefined {
  const command = commandWord(args);
  if (command === undefined || !SCRIPT_COMMANDS.has(command)) return undefined;
  for (const arg of args) {
    if (arg === '--') break;
    if (arg === '-h' || arg === '--help') return undefined;
  }
  return command;
}
