#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { Port } from '@airlock/shared';
import { DirectoryError, effectivePorts, type Directory } from './directory/directory.js';
import { JsonFileDirectory } from './directory/json-file-directory.js';
import { enrollVm, rotateVmCredential } from './directory/agent-credential.js';
import { createRelay } from './relay.js';

/** A failure the user can act on: printed as one line plus a hint, exit code 1. */
class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const DEFAULT_DATA_DIR = process.env.AIRLOCK_RELAY_DATA_DIR ?? './relay-data';

function parsePorts(value: string): number[] {
  const ports = value.split(',').map((p) => p.trim());
  const parsed = ports.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (ports.length === 0 || parsed.some((p) => !Port.safeParse(p).success))
    throw new InvalidArgumentError('expected a comma-separated list of ports 1–65535, e.g. 22,8888');
  return parsed;
}

function parsePort(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new InvalidArgumentError('expected a port 0–65535 (0 picks a free one)');
  return n;
}

function dataDirOf(cmd: Command): string {
  return resolve((cmd.optsWithGlobals() as { dataDir: string }).dataDir);
}

async function openDirectory(cmd: Command): Promise<Directory> {
  return JsonFileDirectory.open(dataDirOf(cmd));
}

function printTable(rows: string[][]): void {
  if (rows.length === 0) return;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

export function buildProgram(): Command {
  const program = new Command('airlock-relay')
    .description('Airlock relay: pairs Connect and VM agents and copies bytes it cannot read')
    .option('--data-dir <dir>', 'relay data folder (directory.json, signing key)', DEFAULT_DATA_DIR)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('run the relay')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort, 7443)
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (opts: { host: string; port: number; logLevel: string }, cmd: Command) => {
      const { createRelayLogger } = await import('./logger.js');
      const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
      const level = levels.find((l) => l === opts.logLevel);
      if (!level) throw new CliError(`unknown log level "${opts.logLevel}"`, `use one of ${levels.join(', ')}`);
      const relay = await createRelay({
        config: { host: opts.host, port: opts.port, dataDir: dataDirOf(cmd) },
        logger: createRelayLogger(level),
      }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE')
          throw new CliError(
            `port ${opts.port} on ${opts.host} is already in use`,
            'stop the other process or pass --port',
          );
        if (e.code === 'EACCES')
          throw new CliError(`not allowed to listen on ${opts.host}:${opts.port}`, 'use a port above 1023');
        throw e;
      });
      process.stderr.write(`airlock-relay listening on ${relay.url}\nrelay public key: ${relay.publicKeyPath}\n`);
      const stop = () => void relay.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  const user = program.command('user').description('manage users');
  user
    .command('add <name>')
    .description('register a user and their public key (SPKI PEM, ECDSA P-256/384/521 or RSA)')
    .requiredOption('--public-key <file>', "PEM file with the user's public key")
    .action(async (name: string, opts: { publicKey: string }, cmd: Command) => {
      let pem: string;
      try {
        pem = await readFile(opts.publicKey, 'utf8');
      } catch (e) {
        throw new CliError(
          `cannot read ${opts.publicKey}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          'check the path',
        );
      }
      const dir = await openDirectory(cmd);
      await dir.addUser({ name, publicKeyPem: pem });
      console.log(`user "${name}" added`);
    });
  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const users = await (await openDirectory(cmd)).listUsers();
      if (opts.json) return console.log(JSON.stringify(users.map(({ name, createdAt }) => ({ name, createdAt }))));
      if (users.length === 0)
        return console.log('no users yet; add one with: airlock-relay user add <name> --public-key <file>');
      printTable([['NAME', 'CREATED'], ...users.map((u) => [u.name, u.createdAt])]);
    });

  const vm = program.command('vm').description('manage VMs (agents)');
  vm.command('add <id>')
    .description('register a VM and print its agent credential (shown once)')
    .requiredOption('--ports <ports>', 'ports the agent may forward, e.g. 22,8888', parsePorts)
    .action(async (id: string, opts: { ports: number[] }, cmd: Command) => {
      const credential = await enrollVm(await openDirectory(cmd), id, opts.ports);
      process.stderr.write(`VM "${id}" added. Agent credential (shown once; give it to the agent as a secret):\n`);
      console.log(credential);
    });
  vm.command('rotate-credential <id>')
    .description("replace a VM's agent credential and print the new one (shown once)")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const credential = await rotateVmCredential(await openDirectory(cmd), id);
      process.stderr.write(`New agent credential for "${id}" (the old one no longer works):\n`);
      console.log(credential);
    });
  vm.command('list')
    .description('list VMs')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const vms = await (await openDirectory(cmd)).listVms();
      if (opts.json)
        return console.log(JSON.stringify(vms.map(({ id, ports, createdAt }) => ({ id, ports, createdAt }))));
      if (vms.length === 0) return console.log('no VMs yet; add one with: airlock-relay vm add <id> --ports 22');
      printTable([['ID', 'PORTS', 'CREATED'], ...vms.map((v) => [v.id, v.ports.join(',') || '-', v.createdAt])]);
    });

  program
    .command('grant <user> <vm>')
    .description('let a user reach a VM (all of its ports unless --ports is given)')
    .option('--ports <ports>', 'only these ports, e.g. 22,8888', parsePorts)
    .action(async (userName: string, vmId: string, opts: { ports?: number[] }, cmd: Command) => {
      const dir = await openDirectory(cmd);
      const grant = await dir.grant({ user: userName, vm: vmId, ...(opts.ports ? { ports: opts.ports } : {}) });
      const vmRecord = await dir.getVm(vmId);
      const ports = vmRecord ? effectivePorts(vmRecord, grant) : [];
      console.log(`"${userName}" may reach "${vmId}" (ports: ${ports.join(',') || 'none'})`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander already printed it
    if (e instanceof CliError) {
      process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      return 1;
    }
    if (e instanceof DirectoryError) {
      const hints: Record<string, string> = {
        exists: 'pick another name, or list what exists with `user list` / `vm list`',
        not_found: 'check the name with `user list` / `vm list`',
        invalid: 'fix the value and try again',
      };
      process.stderr.write(`error: ${e.message}\nhint: ${hints[e.code]}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}

function invokedDirectly(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) process.exitCode = await main(process.argv.slice(2));
