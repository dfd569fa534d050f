#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { installProcessGuards, logStrayError } from '@airlock/shared';
import { startAgent, AGENT_VERSION } from './agent.js';
import { ConfigError, mergeConfigInput, resolveAgentConfig, takeConfigFromEnv } from './config.js';
import { enrollAgent } from './enroll.js';
import { enrollOnFirstStart } from './first-start.js';
import { createAgentLogger } from './logger.js';
import { defaultStateDir } from './state-dir.js';

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
    fail(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

const USAGE_ERRORS = new Set(['bad-url', 'bad-token', 'already-enrolled', 'state-dir']);

async function run(opts: { config?: string; stateDir?: string }): Promise<void> {
  const file = opts.config ? readConfigFile(opts.config) : {};
  const input = mergeConfigInput(file, takeConfigFromEnv(process.env));
  if (opts.stateDir) input.stateDir = opts.stateDir;

  const first = await enrollOnFirstStart(input);
  if (!first.ok)
    fail(`enrollment on first start failed: ${first.error.message}`, USAGE_ERRORS.has(first.error.code) ? 2 : 1);

  let config;
  try {
    config = resolveAgentConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  const log = createAgentLogger({ level: config.logLevel, vm: config.vmId });
  // The agent serves every user of this VM: a bug in one session must not end the others.
  installProcessGuards({ report: (e) => logStrayError(log, e), onUncaughtException: 'continue' });
  if (first.value.action === 'enrolled')
    log.info(
      { stateDir: first.value.stateDir, vm: first.value.enrollment.vm },
      'enrolled with the relay on first start',
    );
  else if (first.value.action === 'already-enrolled')
    log.info({ stateDir: first.value.stateDir }, 'already enrolled; the configured enrollment token is not used again');
  let agent;
  try {
    agent = await startAgent(config, { logger: log });
  } catch (e) {
    fail((e as Error).message);
  }
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    void agent.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

async function enroll(relayUrl: string, token: string, opts: { stateDir?: string; force?: boolean }): Promise<void> {
  const stateDir = opts.stateDir ?? defaultStateDir(process.env);
  const result = await enrollAgent({ relayUrl, token, stateDir, force: opts.force ?? false });
  if (!result.ok) fail(result.error.message, USAGE_ERRORS.has(result.error.code) ? 2 : 1);
  const e = result.value;
  process.stdout.write(
    `enrolled VM ${e.vm} with ${e.relayUrl} (TLS pin ${e.relayPin}); state in ${stateDir}\n` +
      `start the agent: airlock-agent${opts.stateDir ? ` --state-dir ${stateDir}` : ''} [--config agent.json]\n`,
  );
}

const program = new Command('airlock-agent')
  .description('Airlock VM agent: dials out to the relay and serves end-to-end encrypted sessions')
  .version(AGENT_VERSION)
  // `enroll --state-dir` belongs to enroll, not to the agent's own --state-dir.
  .enablePositionalOptions()
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
  .argument('<token>', 'the one-time token from `airlock-relay vm add` (it carries the relay TLS pin)')
  .option('--state-dir <dir>', 'where to keep the state (env AIRLOCK_AGENT_STATE_DIR)')
  .option('--force', 'replace an existing enrollment in the state dir')
  .action(enroll);

program.parseAsync(process.argv).catch((e: unknown) => fail((e as Error).message));
