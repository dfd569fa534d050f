import { InvalidArgumentError, type Command } from 'commander';
import { Port, SessionId, UserName, VmId, type ExplainReport, type SessionDetail } from '@airlock/shared';
import { dataDirInUse } from '../data-dir-lock.js';
import { readServedAt } from '../served-at.js';
import { CliError, dataDirOf, json, table, unwrap, withStoreOnly, zodArg, type CliIo } from '../admin/cli-context.js';
import { Helpdesk } from './helpdesk.js';

function parsePort(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Port.safeParse(n).success) throw new InvalidArgumentError('expected a port 1–65535');
  return n;
}

/** The data dir's store and a Helpdesk that knows whether a relay serves it now (the data dir's lock). */
async function withHelpdesk<T>(cmd: Command, io: CliIo, fn: (h: Helpdesk) => Promise<T>): Promise<T> {
  const dataDir = dataDirOf(cmd);
  const store = await withStoreOnly(dataDir, io);
  try {
    const served = readServedAt(dataDir);
    const running = dataDirInUse(dataDir);
    const url = served.publicUrl ?? served.url;
    const helpdesk = new Helpdesk({
      store,
      now: () => new Date(),
      relay: () => ({ running, ...(url ? { url } : {}) }),
    });
    return await fn(helpdesk);
  } finally {
    await store.close();
  }
}

/** `airlock-relay explain <user> <vm> [--port N] [--json]`. */
export function registerExplain(program: Command, io: CliIo): void {
  program
    .command('explain')
    .description('may this user reach this VM (and port) right now — and if not, exactly why')
    .argument('<user>', 'user name', zodArg(UserName))
    .argument('<vm>', 'VM id', zodArg(VmId))
    .option('--port <port>', 'a port the user wants to forward', parsePort)
    .option('--json', 'print JSON (the same document as GET /api/v1/admin/explain)')
    .action(async (user: string, vm: string, opts: { port?: number; json?: boolean }, cmd: Command) => {
      const report = unwrap(
        await withHelpdesk(cmd, io, (h) =>
          h.explain({ user, vm, ...(opts.port !== undefined ? { port: opts.port } : {}) }),
        ),
      );
      if (opts.json) json(io, report);
      else printExplain(io, report);
      if (!report.allowed)
        throw new CliError(
          `"${user}" may not reach "${vm}"${opts.port ? ` port ${opts.port}` : ''} now: ${report.blockers.join(', ')}`,
        );
    });
}

function printExplain(io: CliIo, r: ExplainReport): void {
  const target = `${r.user} → ${r.vm}${r.port !== undefined ? ` port ${r.port}` : ''}`;
  io.out(`${target}: ${r.allowed ? 'ALLOWED' : `NOT ALLOWED (${r.blockers.join(', ')})`}   [${r.at}]`);
  for (const c of r.checks) {
    io.out(`  ${c.ok ? '✓' : '✗'} ${c.check.padEnd(8)} ${c.message}`);
    if (c.hint) io.out(`    ${' '.repeat(8)} → ${c.hint}`);
  }
  if (r.recentRefusals.length === 0) return io.out('recent refusals: none');
  io.out('recent refusals (newest first):');
  table(
    io,
    ['  TIME', 'EVENT', 'REASON', 'VM', 'SESSION', 'FROM'],
    r.recentRefusals.map((f) => [`  ${f.ts}`, f.type, f.reason, f.vm ?? '-', f.sid ?? '-', f.source ?? '-']),
  );
}

/** `airlock-relay session show <id> [--json]`, on the `session` command. */
export function registerSessionShow(session: Command, io: CliIo): void {
  session
    .command('show')
    .description('one session: who, which VM and ports, when, bytes each way, how it ended and why, its audit entries')
    .argument('<id>', 'session id (from `session list`, a log line or an error message)', zodArg(SessionId))
    .option('--json', 'print JSON (the same document as GET /api/v1/admin/sessions/<id>)')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const detail = unwrap(await withHelpdesk(cmd, io, (h) => h.session(id)));
      if (opts.json) return json(io, detail);
      printSession(io, detail);
    });
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

function printSession(io: CliIo, s: SessionDetail): void {
  const device = s.device.name ? `device "${s.device.name}" (${s.device.id})` : `device ${s.device.id}`;
  io.out(`session  ${s.id}`);
  io.out(`who      ${s.user}, ${device}`);
  io.out(`vm       ${s.vm}, ports ${s.ports.length ? s.ports.join(', ') : 'none (shell and file transfer only)'}`);
  io.out(`state    ${s.state}`);
  io.out(`ticket   ${s.createdAt}`);
  io.out(`opened   ${s.openedAt ?? (s.state === 'ended' ? 'never (the two sides did not pair)' : 'not yet')}`);
  if (s.endedAt) io.out(`ended    ${s.endedAt}, after ${seconds(s.durationMs)}`);
  else io.out(`running  ${seconds(s.durationMs)}`);
  io.out(
    `bytes    ${s.bytesFromClient} from Connect, ${s.bytesFromAgent} from the agent` +
      (s.bytesLive ? ' (live)' : s.state === 'ended' ? '' : ' (counted when it ends; the API shows them live)'),
  );
  if (s.end) io.out(`why      ${s.end.reason}${s.end.by ? ` (closed by ${s.end.by})` : ''}`);
  if (s.killRequested) io.out(`kill     requested by ${s.killRequested.by} at ${s.killRequested.at}`);
  io.out(`audit (${s.audit.length}):`);
  table(
    io,
    ['  SEQ', 'TIME', 'TYPE', 'ACTOR', 'OUTCOME', 'DATA'],
    s.audit.map((e) => [`  ${e.seq}`, e.ts, e.type, e.actor, e.outcome, JSON.stringify(e.data)]),
  );
}
