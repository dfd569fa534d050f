#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import {
  endQuietlyWhenReaderGoes,
  installProcessGuards,
  logStrayError,
  printableText,
  readSecretLine,
} from '@airlock/shared';
import { startAgent, AGENT_VERSION } from './agent.js';
import { ConfigError, configFromEnv, mergeConfigInput, resolveAgentConfig, takeConfigFromEnv } from './config.js';
import { enrollAgent } from './enroll.js';
import { enrollOnFirstStart } from './first-start.js';
import { createAgentLogger } from './logger.js';
import { defaultStateDir } from './state-dir.js';
import { agentStatus } from './status.js';
import { printStatus } from './status-print.js';
import { STATUS_FILE } from './status-file.js';
import { makeFoldersSync } from '@airlock/shared';

/** Exit codes: 2 for configuration/usage problems, 1 for an enrollment the relay or network refused. */
function fail(message: string, code = 2): never {
  process.stderr.write(`airlock-agent: ${message}\n`);
  process.exit(code);
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`cannot read config file ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    // JSON.parse quotes the file's text: whatever control characters it holds must not reach the terminal.
    fail(`config file ${path} is not valid JSON: ${printableText((e as Error).message)}`);
  }
}

const USAGE_ERRORS = new Set(['bad-url', 'bad-token', 'already-enrolled', 'state-dir']);

async function run(opts: { config?: string; stateDir?: string }): Promise<void> {
  endQuietlyWhenReaderGoes({ exitCode: 1 }); // a daemon without its log stream: let the supervisor restart it
  // Signal handlers first: the agent logs while it enrolls and starts, and a supervisor that stops
  // it on one of those lines must get the graceful close (sessions told, status file written), never
  // the default SIGTERM death that a signal before the handlers meant.
  const lifecycle: {
    log?: ReturnType<typeof createAgentLogger>;
    agent?: Awaited<ReturnType<typeof startAgent>>;
    stopping: boolean;
  } = { stopping: false };
  const close = (a: NonNullable<typeof lifecycle.agent>) => {
    setTimeout(() => process.exit(1), 5000).unref();
    void a.close().then(() => process.exit(0));
  };
  const stop = (signal: string): void => {
    if (lifecycle.stopping) return;
    lifecycle.stopping = true;
    lifecycle.log?.info({ signal }, 'stopping');
    // Before the agent exists: at the next step of the start (below). Not in the middle of a
    // first-start enrollment, whose one-time token the relay may already have spent.
    if (lifecycle.agent) close(lifecycle.agent);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  const file = opts.config ? readConfigFile(opts.config) : {};
  const input = mergeConfigInput(file, takeConfigFromEnv(process.env));
  if (opts.stateDir) input.stateDir = opts.stateDir;

  const first = await enrollOnFirstStart(input);
  if (!first.ok)
    fail(`enrollment on first start failed: ${first.error.message}`, USAGE_ERRORS.has(first.error.code) ? 2 : 1);
  if (lifecycle.stopping) process.exit(0); // enrolled, and nothing started yet

  let config;
  try {
    config = resolveAgentConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  const log = (lifecycle.log = createAgentLogger({ level: config.logLevel, vm: config.vmId }));
  // The agent serves every user of this VM: a bug in one session must not end the others.
  installProcessGuards({ report: (e) => logStrayError(log, e), onUncaughtException: 'continue' });
  if (first.value.action === 'enrolled')
    log.info(
      { stateDir: first.value.stateDir, vm: first.value.enrollment.vm },
      'enrolled with the relay on first start',
    );
  else if (first.value.action === 'already-enrolled')
    log.info({ stateDir: first.value.stateDir }, 'already enrolled; the configured enrollment token is not used again');
  // The status file lives in the state dir; an agent configured without an enrollment may not have one yet.
  let statusFile: string | undefined = join(config.stateDir, STATUS_FILE);
  try {
    makeFoldersSync(config.stateDir, 0o700);
  } catch (e) {
    log.warn(
      { stateDir: config.stateDir, error: (e as NodeJS.ErrnoException).code ?? String(e) },
      'cannot create the state dir; airlock-agent status will not see this agent',
    );
    statusFile = undefined;
  }
  try {
    lifecycle.agent = await startAgent(config, { logger: log, ...(statusFile ? { statusFile } : {}) });
  } catch (e) {
    fail((e as Error).message);
  }
  if (lifecycle.stopping) close(lifecycle.agent);
}

async function enroll(
  relayUrl: string,
  tokenArg: string | undefined,
  opts: { stateDir?: string; force?: boolean; tokenFile?: string },
): Promise<void> {
  const token = await enrollmentTokenFrom(tokenArg, opts.tokenFile);
  const stateDir = opts.stateDir ?? defaultStateDir(process.env);
  const result = await enrollAgent({ relayUrl, token, stateDir, force: opts.force ?? false });
  if (!result.ok) fail(result.error.message, USAGE_ERRORS.has(result.error.code) ? 2 : 1);
  const e = result.value;
  process.stdout.write(
    `enrolled VM ${e.vm} with ${e.relayUrl} (TLS pin ${e.relayPin}); state in ${stateDir}\n` +
      (e.org
        ? `organisation "${e.org.name}" (${e.org.afp}) pinned; VM identity key made and certified\n`
        : 'no organisation root (a1 token): this VM trusts the relay for who its users are\n') +
      `start the agent: airlock-agent${opts.stateDir ? ` --state-dir ${stateDir}` : ''} [--config agent.json]\n`,
  );
}

/** argv is readable by every local user (`ps`); a file or stdin keeps the token out of it. */
async function enrollmentTokenFrom(arg: string | undefined, file: string | undefined): Promise<string> {
  if (arg !== undefined && file !== undefined)
    fail('give the token either as an argument or with --token-file, not both');
  if (arg !== undefined && arg !== '-') return arg;
  if (file === undefined && process.stdin.isTTY) process.stderr.write('One-time agent enrollment token (a1.…): ');
  const read = await readSecretLine(file !== undefined ? { file } : { stream: process.stdin }, 'enrollment token');
  if (!read.ok) fail(read.error.message);
  return read.value;
}

async function status(opts: { config?: string; stateDir?: string; json?: boolean; timeout: string }): Promise<void> {
  const timeoutMs = Number(opts.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000)
    fail('--timeout: expected milliseconds between 100 and 60000');
  const input = mergeConfigInput(opts.config ? readConfigFile(opts.config) : {}, configFromEnv(process.env));
  if (opts.stateDir) input.stateDir = opts.stateDir;
  const report = await agentStatus({ config: input, env: process.env, timeoutMs });
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printStatus(report, (line) => process.stdout.write(`${line}\n`));
  process.exitCode = report.ok ? 0 : 1;
}

// A reader that goes away (`airlock-agent … | head`) ends the program quietly, not with a stack trace.
endQuietlyWhenReaderGoes();

const program = new Command('airlock-agent')
  .description('Airlock VM agent: dials out to the relay and serves end-to-end encrypted sessions')
  .version(AGENT_VERSION)
  // `enroll --state-dir` belongs to enroll, not to the agent's own --state-dir.
  .enablePositionalOptions()
  // Usage errors exit 2, as the agent's other configuration errors do: 1 is `status`'s "problems
  // found" and an enrollment the relay refused. Set before the subcommands, which inherit it.
  .exitOverride()
  .showHelpAfterError('(add --help for usage)')
  .option('-c, --config <file>', 'JSON configuration file (AIRLOCK_* environment variables override it)')
  .option(
    '--state-dir <dir>',
    'enrollment state directory (default /var/lib/airlock-agent as root, else ~/.airlock-agent)',
  )
  .addHelpText(
    'after',
    `
Environment overrides: AIRLOCK_RELAY_URL, AIRLOCK_RELAY_PIN, AIRLOCK_VM_ID, AIRLOCK_AGENT_STATE_DIR,
AIRLOCK_AGENT_ENROLLMENT_TOKEN (enroll on first start), AIRLOCK_AGENT_CREDENTIAL(_FILE),
AIRLOCK_RELAY_PUBLIC_KEY_FILE, AIRLOCK_ALLOWED_PORTS (e.g. 3389,8888), AIRLOCK_OS_USER,
AIRLOCK_SHELL, AIRLOCK_SFTP_SERVER, AIRLOCK_LOG_LEVEL.`,
  )
  .action(run);

program
  .command('enroll')
  .description("exchange a one-time agent enrollment token for this VM's credential and save it in the state dir")
  .argument('<relay-url>', 'the relay, e.g. https://relay.example.org:7443')
  .argument(
    '[token]',
    'the one-time token from `airlock-relay vm add` (it carries the relay TLS pin); "-" or omitted: read from stdin',
  )
  .option('--token-file <file>', 'read the one-time token from this file')
  .option('--state-dir <dir>', 'where to keep the state (env AIRLOCK_AGENT_STATE_DIR)')
  .option('--force', 'replace an existing enrollment in the state dir')
  .action(enroll);

program
  .command('status')
  .description(
    'is this agent enrolled, is the relay reachable with the pinned key, is the agent running and its control link up, ' +
      'which sessions are open, does something listen on each port of the policy (exit 0 when all is well, 1 otherwise)',
  )
  .option('-c, --config <file>', 'the configuration file the agent runs with')
  .option('--state-dir <dir>', 'the state directory the agent runs with (env AIRLOCK_AGENT_STATE_DIR)')
  .option('--json', 'print JSON')
  .option('--timeout <ms>', 'for reaching the relay and probing ports', '5000')
  .action(status);

program.parseAsync(process.argv).catch((e: unknown) => {
  // Commander has printed its own message (or the help, or the version) already.
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  fail((e as Error).message);
});
