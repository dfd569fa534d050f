#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ZodError } from 'zod';
import {
  curlPin,
  describeZodError,
  endQuietlyWhenReaderGoes,
  installProcessGuards,
  invokedDirectly,
  logStrayError,
} from '@airlock/shared';
import { registerAuditCommands } from './audit/audit-commands.js';
import { registerAccessCommands } from './admin/cli-access.js';
import { CliError, dataDirOf, defaultIo, withStoreOnly, type CliIo } from './admin/cli-context.js';
import { givenRelayUrl } from './admin/code-target.js';
import { registerSourceCommands } from './admin/cli-sources.js';
import { registerUserCommands } from './admin/cli-users.js';
import { registerVmCommands } from './admin/cli-vms.js';
import { registerExplain } from './helpdesk/cli-helpdesk.js';
import { registerOrgCommands } from './org/cli-org.js';

const DEFAULT_DATA_DIR = './relay-data';

function parsePort(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new InvalidArgumentError('expected a port 0–65535 (0 picks a free one)');
  return n;
}

/** `serve`: kept thin on purpose, everything else about the relay lives in createRelay and its config. */
/** How long a stopping relay may take to close before it exits anyway. */
const RELAY_STOP_GRACE_MS = 15_000;

function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('run the relay')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort, 7443)
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--config <file>', 'JSON relay configuration (limits, token lifetime, auditSinks, metrics…); flags win')
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics (and /healthz, /readyz) on this port (off by default)',
      parsePort,
    )
    .option('--metrics-host <host>', 'address of the metrics listener', '127.0.0.1')
    .option(
      '--tls-key <file>',
      'private key of --tls-cert (both, or neither: a self-signed certificate) [env AIRLOCK_RELAY_TLS_KEY]',
    )
    .action(
      async (
        opts: {
          host: string;
          port: number;
          logLevel: string;
          tlsKey?: string;
          config?: string;
          metricsPort?: number;
          metricsHost: string;
        },
        cmd: Command,
      ) => {
        // Loaded here so the admin commands do not pay for the whole relay at start-up.
        const [{ createRelayLogger }, { createRelay }, { DataDirInUseError }] = await Promise.all([
          import('./logger.js'),
          import('./relay.js'),
          import('./data-dir-lock.js'),
        ]);
        const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
        const level = levels.find((l) => l === opts.logLevel);
        if (!level) throw new CliError(`unknown log level "${opts.logLevel}"`, `use one of ${levels.join(', ')}`);
        const globals = cmd.optsWithGlobals() as { tlsCert?: string };
        const publicUrl = givenRelayUrl(cmd, io.env);
        const certFile = globals.tlsCert ?? io.env.AIRLOCK_RELAY_TLS_CERT;
        const keyFile = opts.tlsKey ?? io.env.AIRLOCK_RELAY_TLS_KEY;
        if (!certFile !== !keyFile)
          throw new CliError(
            'give both --tls-cert and --tls-key, or neither',
            'without them the relay uses its own certificate',
          );
        const fileConfig = opts.config ? await readConfigFile(opts.config) : {};
        const listen = listenAddress(fileConfig, opts, cmd);
        const logger = createRelayLogger(level);
        // The relay serves everyone: a bug met while handling one request or session must not
        // end the others (README, design notes: "Bugs never end a process that serves others").
        installProcessGuards({ report: (e) => logStrayError(logger, e), onUncaughtException: 'continue' });
        // Signal handlers before the relay starts: it listens and logs "relay listening" while it
        // starts, and a supervisor that stops it on that line (or on its first health answer) must
        // get the graceful close; a SIGTERM before the handlers killed it without one (seen under
        // load in data-dir-lock.test.ts: exit by signal instead of 0).
        const serving: { relay?: Awaited<ReturnType<typeof createRelay>>; stopRequested: boolean } = {
          stopRequested: false,
        };
        const close = (r: NonNullable<typeof serving.relay>) => {
          // A close that hangs (an audit sink, a socket that never drains) must not outlive the stop.
          setTimeout(() => process.exit(1), RELAY_STOP_GRACE_MS).unref();
          void r.close().then(() => process.exit(0));
        };
        const stop = () => {
          if (serving.stopRequested) return;
          serving.stopRequested = true;
          if (serving.relay) close(serving.relay); // else as soon as it has started (below)
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        const relay = await createRelay({
          config: {
            ...fileConfig,
            ...listen,
            dataDir: dataDirOf(cmd),
            ...(publicUrl ? { publicUrl } : {}),
            ...(certFile && keyFile ? { tls: { certFile, keyFile } } : {}),
            ...(opts.metricsPort !== undefined ? { metrics: { host: opts.metricsHost, port: opts.metricsPort } } : {}),
          },
          logger,
        })
          .catch((e: NodeJS.ErrnoException & { issues?: unknown; listener?: string }) => {
            if (e.listener === 'metrics')
              throw new CliError(e.message, 'pass another --metrics-port, or stop what holds it');
            if (e instanceof ZodError) throw new CliError(`bad relay configuration: ${describeZodError(e)}`);
            if (e instanceof DataDirInUseError)
              throw new CliError(
                e.message,
                'one relay per data dir: use the running one, or stop it first (a second one would fight it for the same agents)',
              );
            if (e.code === 'EADDRINUSE')
              throw new CliError(
                `port ${listen.port} on ${listen.host} is already in use`,
                'stop the other process or pass --port',
              );
            if (e.code === 'EACCES' && (e.syscall === 'listen' || e.syscall === 'bind'))
              throw new CliError(`not allowed to listen on ${listen.host}:${listen.port}`, 'use a port above 1023');
            if (e.path && ['ENOENT', 'ENOTDIR', 'EISDIR', 'EROFS', 'ENOSPC'].includes(e.code ?? ''))
              throw new CliError(
                `cannot use ${e.path} (${e.code})`,
                'pass a --data-dir (or AIRLOCK_RELAY_DATA_DIR) in a folder this user can write to',
              );
            if (e.code === 'EACCES' || e.code === 'EPERM')
              throw new CliError(
                `permission denied${e.path ? ` on ${e.path}` : ''} (${e.code})`,
                'run the relay as the user that owns its data dir, or give that user the data dir',
              );
            throw e;
          })
          .catch((e: unknown) => {
            // A start that failed gives the signals back their default: a stop must end what is left.
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            // A stop that came during the failed start still ends the process, once the error
            // has been printed (that happens in this turn's microtasks, before setImmediate).
            if (serving.stopRequested) setImmediate(() => process.exit(1));
            throw e;
          });
        serving.relay = relay;
        if (serving.stopRequested) return close(relay);
        // From here on a lost log stream means a relay its supervisor should restart, not a finished command.
        endQuietlyWhenReaderGoes({ exitCode: 1 });
        io.err(`airlock-relay listening on ${relay.url}`);
        io.err(`TLS pin: ${curlPin(relay.tls.pin)}   (as curl --pinnedpubkey takes it)`);
        if (relay.metricsUrl) io.err(`metrics: ${relay.metricsUrl}/metrics`);
        if (relay.publicKeyPath) io.err(`relay public key: ${relay.publicKeyPath}`);
      },
    );
}

/**
 * Where `serve` listens: a flag given on the command line wins over the config file, and the file
 * wins over the flags' defaults (before, the defaults won too, so the file's host and port were
 * silently ignored). The data dir is not taken from the file: the admin commands find the store
 * by --data-dir alone, so a file naming another one would split the relay from its admins.
 */
function listenAddress(
  file: Record<string, unknown>,
  opts: { host: string; port: number },
  cmd: Command,
): { host: string; port: number } {
  const fromFile = (name: 'host' | 'port') => name in file && cmd.getOptionValueSource(name) === 'default';
  if ('dataDir' in file && (typeof file.dataDir !== 'string' || resolve(file.dataDir) !== dataDirOf(cmd)))
    throw new CliError(
      `the config file names the data dir ${JSON.stringify(file.dataDir)}, but this relay's is ${dataDirOf(cmd)}`,
      'remove dataDir from the file and pass --data-dir (or AIRLOCK_RELAY_DATA_DIR): the admin commands find the store there too',
    );
  // The file's values are checked with the rest of the configuration (a ZodError names the field).
  return {
    host: fromFile('host') ? (file.host as string) : opts.host,
    port: fromFile('port') ? (file.port as number) : opts.port,
  };
}

/** A relay config file: JSON, an object; its fields are checked by RelayConfig when the relay starts. */
async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read the config file ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON`, 'fix the file; it must hold one JSON object');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliError(`${path} must hold one JSON object`);
  return parsed as Record<string, unknown>;
}

export function buildProgram(io: CliIo = defaultIo()): Command {
  const program = new Command('airlock-relay')
    .description('Airlock relay: pairs Connect and VM agents, and administers who may reach what')
    .option(
      '--data-dir <dir>',
      'relay data folder (relay.db, keys, TLS certificate) [env AIRLOCK_RELAY_DATA_DIR]',
      io.env.AIRLOCK_RELAY_DATA_DIR ?? DEFAULT_DATA_DIR,
    )
    .option(
      '--relay-url <url>',
      'URL users and agents reach the relay at; goes into enrollment codes [env AIRLOCK_RELAY_PUBLIC_URL] (default https://127.0.0.1:7443)',
    )
    .option(
      '--tls-cert <file>',
      "the relay's certificate when it is not the self-signed one [env AIRLOCK_RELAY_TLS_CERT]",
    )
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  registerServe(program, io);
  registerUserCommands(program, io);
  registerSourceCommands(program, io);
  registerVmCommands(program, io);
  registerAccessCommands(program, io);
  registerExplain(program, io);
  registerOrgCommands(program, io);
  // `audit verify|tail|query` read the same store; entries are never written through them.
  registerAuditCommands(
    program,
    async () => {
      const dataDir = dataDirOf(program);
      return { store: await withStoreOnly(dataDir, io), dataDir };
    },
    { out: io.out, err: io.err },
  );
  return program;
}

/**
 * Runs the CLI; returns the exit code: 0 done, 1 refused or failed (one line + hint), 2 usage.
 * Without `io` (a real process) it writes to stdout/stderr and ends quietly when their reader goes.
 */
export async function main(argv: string[], given?: CliIo): Promise<number> {
  if (!given) endQuietlyWhenReaderGoes();
  const io = given ?? defaultIo();
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander already printed it
    if (e instanceof CliError) {
      io.err(`error: ${e.message}`);
      if (e.hint) io.err(`hint: ${e.hint}`);
      return 1;
    }
    const exitCode = (e as { exitCode?: unknown }).exitCode;
    io.err(`error: ${(e as Error).message ?? String(e)}`);
    return typeof exitCode === 'number' && exitCode > 0 ? exitCode : 1;
  }
}

if (invokedDirectly(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
