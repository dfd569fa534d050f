import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hangUp, processSessions, signalSession, signalsDelivered } from './session-signals.js';

/** The live processes in the session led by `leader`, as the agent's scan sees them. */
async function sessionMembers(leader: number, proc = '/proc'): Promise<number[]> {
  const pids: number[] = [];
  for await (const batch of processSessions(proc)) for (const p of batch) if (p.session === leader) pids.push(p.pid);
  return pids;
}

/** A /proc look-alike: `stat` lines as the kernel writes them ("pid (comm) state ppid pgrp session …"). */
function fakeProc(entries: Record<string, string | null>): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-proc-'));
  for (const [name, stat] of Object.entries(entries)) {
    mkdirSync(join(dir, name));
    if (stat !== null) writeFileSync(join(dir, name, 'stat'), stat);
  }
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test('sessionMembers reads the session id after the last ")" of the command name, and leaves out zombies', async () => {
  using proc = fakeProc({
    '100': '100 (bash) S 1 100 100 0 -1',
    '101': '101 (odd) name) (x) S 100 101 100 0 -1', // a command name with spaces and parentheses
    '102': '102 (sleep) Z 100 100 100 0 -1', // exited, not yet reaped: nothing to signal
    '103': '103 (other) S 1 103 103 0 -1', // another session
    '104': null, // gone between the listing and the read
    self: '1 (not a pid) S 0 1 100 0 -1',
  });
  assert.deepEqual((await sessionMembers(100, proc.dir)).sort(), [100, 101]);
  assert.deepEqual(await sessionMembers(100, join(proc.dir, 'missing')), []);
});

test("sessionMembers finds a command's background job", async () => {
  // detached: the child is a session leader (setsid), as the agent starts every user process.
  const child = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const jobPid = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d))));
    assert.deepEqual((await sessionMembers(child.pid!)).sort(), [child.pid!, jobPid].sort());
  } finally {
    process.kill(-child.pid!, 'SIGKILL');
  }
});

test('a long /proc is read in turns: the event loop runs between batches', async () => {
  const entries: Record<string, string> = {};
  for (let pid = 1000; pid < 1300; pid++) entries[String(pid)] = `${pid} (job) S 1 ${pid} ${pid % 2 ? 7 : 8} 0 -1`;
  using proc = fakeProc(entries);
  let turned = false;
  setImmediate(() => (turned = true));
  const members = await sessionMembers(7, proc.dir);
  assert.ok(turned, 'the event loop ran while /proc was read');
  assert.equal(members.length, 150);
});

/**
 * A detached shell (a session leader, as the agent starts every user process) with a background
 * job in a process group of its own — which a signal to the leader's group misses, and the /proc
 * scan is for. (Perl for `setpgrp`: Debian's sh has no job control without a terminal.)
 */
async function sessionWithLoneJob(): Promise<{ leader: ChildProcess; jobPid: number }> {
  const leader = spawn('sh', ['-c', `perl -e 'setpgrp(0, 0); sleep 30' & echo $!; wait`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const jobPid = await new Promise<number>((resolve) => leader.stdout!.once('data', (d: Buffer) => resolve(Number(d))));
  return { leader, jobPid };
}

/** The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, …); none once it is gone. */
function statFields(pid: number): string[] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return [];
  }
}

/** Whether `pid` leads its own process group. */
const ownGroup = (pid: number): boolean => Number(statFields(pid)[2]) === pid;

/** Alive: there, and not a zombie waiting to be reaped (its parent may be gone, and init slow). */
const running = (pid: number): boolean => {
  const state = statFields(pid)[0];
  return state !== undefined && state !== 'Z';
};

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), what);
}

test('signals asked for several sessions at once reach a job in a group of its own in each, and signalsDelivered waits for them', async () => {
  const sessions = [await sessionWithLoneJob(), await sessionWithLoneJob()];
  try {
    await until(() => sessions.every((s) => ownGroup(s.jobPid)), 'each job in a process group of its own');
    for (const s of sessions) signalSession(s.leader.pid!, 'SIGTERM');
    await signalsDelivered();
    await until(() => sessions.every((s) => !running(s.jobPid)), 'both lone jobs ended');
  } finally {
    for (const s of sessions) {
      for (const pid of [-s.leader.pid!, s.jobPid]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
});

test('the hang-up forces the process we started only while it still runs (its pid may be reused once it has gone)', async () => {
  // Ignoring SIGHUP, as `nohup` does: only the SIGKILL after the grace period ends it.
  const spawnStubborn = () => spawn('sh', ['-c', 'trap "" HUP; exec sleep 30'], { detached: true, stdio: 'ignore' });
  const gone = spawnStubborn();
  const stays = spawnStubborn();
  try {
    await new Promise((r) => setTimeout(r, 100)); // the trap is set before the hang-up
    hangUp(gone.pid!, () => true, 20);
    hangUp(stays.pid!, () => false, 20); // as if it had exited and its pid were someone else's now
    await until(() => !running(gone.pid!) || gone.exitCode !== null || gone.signalCode !== null, 'forced');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(stays.exitCode, null);
    assert.equal(stays.signalCode, null);
    assert.ok(running(stays.pid!), 'not killed: it was reported as no longer running');
  } finally {
    for (const c of [gone, stays]) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});
