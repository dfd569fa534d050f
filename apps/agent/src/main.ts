#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { startAgent, AGENT_VERSION } from './agent.js';
import { ConfigError, mergeConfigInput, resolveAgentConfig, takeConfigFromEnv } from './config.js';
import { createAgentLogger } from './logger.js';

function fail(message: string): never {
  process.stderr.write(`airlock-agent: ${message}\n`);
  process.exit(2);
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

const program = new Command('airlock-agent')
  .description('Airlock VM agent: dials out to the relay and serves end-to-end encrypted sessions')
  .version(AGENT_VERSION)
  .option('-c, --config <file>', 'JSON configuration file (AIRLOCK_* environment variables override it)')
  .addHelpText(
    'after',
    `
Environment overrides: AIRLOCK_RELAY_URL, AIRLOCK_VM_ID, AIRLOCK_AGENT_CREDENTIAL(_FILE),
AIRLOCK_RELAY_PUBLIC_KEY_FILE, AIRLOCK_ALLOWED_PORTS (e.g. 3389,8888), AIRLOCK_OS_USER,
AIRLOCK_SHELL, AIRLOCK_SFTP_SERVER, AIRLOCK_LOG_LEVEL.`,
  )
  .action(async (opts: { config?: string }) => {
    const file = opts.config ? readConfigFile(opts.config) : {};
    let config;
    try {
      config = resolveAgentConfig(mergeConfigInput(file, takeConfigFromEnv(process.env)));
    } catch (e) {
      if (e instanceof ConfigError) fail(e.message);
      throw e;
    }
    const log = createAgentLogger({ level: config.logLevel, vm: config.vmId });
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
  });

program.parseAsync(process.argv).catch((e: unknown) => fail((e as Error).message));
