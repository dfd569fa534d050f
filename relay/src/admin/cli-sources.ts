import { InvalidArgumentError, type Command } from 'commander';
import { SourceAddress } from '@airlock/shared';
import { dataDirInUse } from '../data-dir-lock.js';
import type { HeldSourceList } from '../store/types.js';
import { CliError, dataDirOf, json, table, unwrap, withAdmin, zodArg, type CliIo } from './cli-context.js';

/** How long `source list` waits for the running relay's answer unless told otherwise. */
const DEFAULT_TIMEOUT_SECONDS = 5;
/** How often it looks for the answer (the relay answers within its revocation check interval). */
const POLL_MS = 100;

function parseTimeout(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > 300)
    throw new InvalidArgumentError('expected a number of seconds, more than 0 and at most 300');
  return n;
}

/** `source unlock` and `source list`: the per-address limits a running relay keeps in its memory. */
export function registerSourceCommands(program: Command, io: CliIo): void {
  const source = program
    .command('source')
    .description('the per-address limits on logins, enrollments, admin tokens and WebSocket upgrades');

  source
    .command('unlock')
    .description(
      'lift the lockout and request budgets of a source address in the running relay, within a second ' +
        '(all: of every address, and the ones that addresses beyond a full table share)',
    )
    .argument(
      '<address>',
      'the address the audit log names as the source (an IPv6 address counts with its /64), or "all"',
      zodArg(SourceAddress),
    )
    .option('--json', 'print JSON')
    .action(async (address: string, opts: { json?: boolean }, cmd: Command) => {
      const v = unwrap(await withAdmin(cmd, io, { create: false }, (s) => s.service.unlockSource(io.actor, address)));
      if (opts.json) return json(io, v);
      io.out(
        v.every
          ? 'every source address unlocked (the running relay applies it within a second)'
          : `${v.network === address ? address : `${address} (counted as ${v.network})`} unlocked (the running relay applies it within a second)`,
      );
    });

  source
    .command('list')
    .description(
      'the source addresses the running relay refuses now, and by which limit: it is asked through the store ' +
        'and answers within a second (its GET /api/v1/admin/sources gives the same)',
    )
    .option('--json', 'print JSON')
    .option('--timeout <seconds>', 'how long to wait for the relay to answer', parseTimeout, DEFAULT_TIMEOUT_SECONDS)
    .action(async (opts: { json?: boolean; timeout: number }, cmd: Command) => {
      const dataDir = dataDirOf(cmd);
      const list = await withAdmin(cmd, io, { create: false }, async (s) => {
        // The limits live in a running relay's memory; without one there are none to list.
        if (!dataDirInUse(dataDir)) return undefined;
        const lists = s.store.sourceLists;
        const id = await lists.request();
        const deadline = Date.now() + opts.timeout * 1000;
        try {
          for (;;) {
            const answer = await lists.answerOf(id);
            if (answer) return answer;
            if (Date.now() >= deadline) {
              if (!dataDirInUse(dataDir))
                throw new CliError(
                  `the relay on ${dataDir} stopped before it answered`,
                  'start it again, then ask again',
                );
              throw new CliError(
                `the relay running on ${dataDir} did not answer within ${opts.timeout} s`,
                'it may be starting, stopping, overloaded or older than this command (relays answer since ' +
                  'schema 7): try again with --timeout, check its log, or ask it over HTTPS ' +
                  '(GET /api/v1/admin/sources with an audit.read client)',
              );
            }
            await new Promise((r) => setTimeout(r, POLL_MS));
          }
        } finally {
          // The answer can be large (1 000 sources); nobody else reads it.
          await lists.forget(id).catch(() => {});
        }
      });
      if (opts.json) return json(io, list ? { running: true, ...list } : { running: false, total: 0, sources: [] });
      if (!list)
        return io.out(
          `no relay is running on ${dataDir}: these limits live in a running relay's memory, and a relay starts with none`,
        );
      printList(io, list);
    });
}

function printList(io: CliIo, list: HeldSourceList): void {
  if (list.total === 0) return io.out(`no source address is refused (as of ${list.at})`);
  table(
    io,
    ['SOURCE', 'LIMIT', 'RETRY AFTER'],
    list.sources.map((s) => [s.source, s.limit, `${s.retryAfterSeconds} s`]),
  );
  const more = list.total - list.sources.length;
  io.out(
    `${list.total} refused as of ${list.at}` +
      (more > 0 ? `; the ${list.sources.length} soonest free are shown, ${more} more are not` : '') +
      '. Lift one with: airlock-relay source unlock <address|all>',
  );
}
