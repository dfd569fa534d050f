import { SshClientSession, SshDisconnectReason } from '@microsoft/dev-tunnels-ssh';
import { createSshConfig, releaseSession, startSshSession } from '@airlock/shared/ssh';
import type { AgentSystem } from '../agent-system.js';
import { checkChild, finding, newStats, outcome, rssMiB, sampleRss, type DoorStats } from '../stats.js';
import { mutateBytes, prng } from '../values.js';
import { agentClose, authenticated, recordHandshake } from './agent-ssh.js';

/** Hostile resume connections per session before its own client resumes it. */
const ATTEMPTS_PER_SESSION = 6;
/** How long one hostile resume connection may stay open before the fuzzer drops it. */
const INPUT_DEADLINE_MS = 300;

type Attempt = 'mutated handshake' | 'junk' | 'a new login';

/**
 * The agent's resume door, behind a valid ticket: a session whose connection dropped waits for its
 * client, and a resume dial (the ticket names the session's own user, as only the relay can sign)
 * makes the agent open a new data socket on which the client must prove it holds the session's
 * keys (the SSH library's reconnect). What arrives there instead: a real handshake with one frame
 * mutated, random bytes, or a complete new SSH handshake that tries to log in with the user's own
 * key and open a channel. Each must be refused with a reason, the agent must stay up, and the
 * session must still be there: its real client then resumes it and opens a channel.
 */
export async function fuzzAgentResume(sys: AgentSystem, inputs: number, seed: number): Promise<DoorStats> {
  const stats = newStats('agent resume (Connect → agent, valid ticket)');
  stats.childProcess = true;
  stats.rssStartMiB = rssMiB(sys.child.pid);
  const bugsBefore = sys.child.bugs().length;
  const corpus = await recordHandshake(sys);
  const rnd = prng(seed);
  while (stats.inputs < inputs && sys.child.alive()) {
    const sid = await sys.dial();
    const client = await authenticated(sys, sid);
    if (!client) {
      finding(stats, `a legitimate session failed to authenticate (${sid})`);
      sys.relay.forgetSession(sid);
      break;
    }
    // The connection drops: the agent keeps the session for a resume.
    sys.relay.dropSession(sid);
    for (let i = 0; i < ATTEMPTS_PER_SESSION && stats.inputs < inputs && sys.child.alive(); i++) {
      stats.inputs++;
      sampleRss(stats, sys.child.pid, Math.ceil(inputs / 10));
      const kind: Attempt = rnd() < 0.08 ? 'a new login' : rnd() < 0.15 ? 'junk' : 'mutated handshake';
      await hostileResume(sys, sid, kind, corpus, rnd, stats);
    }
    // Its own client comes back: the session survived every attempt.
    const ws = await sys.resumeDial(sid);
    const resumed = await client
      .reconnect(await sys.relay.sessionStream(sid))
      .then(() => client.openChannel('session'))
      .then(
        () => true,
        (e: unknown) => (
          finding(stats, `the session's own client could not resume it: ${(e as Error).message}`),
          false
        ),
      );
    if (resumed) outcome(stats, "the session's own client resumed it afterwards");
    await client.close(SshDisconnectReason.byApplication).catch(() => {});
    releaseSession(client);
    ws.terminate();
    sys.relay.forgetSession(sid);
  }
  checkChild(stats, sys.child, bugsBefore, 'the agent');
  return stats;
}

async function hostileResume(
  sys: AgentSystem,
  sid: string,
  kind: Attempt,
  corpus: Buffer[],
  rnd: () => number,
  stats: DoorStats,
): Promise<void> {
  const ws = await sys.resumeDial(sid);
  const closed = agentClose(ws, kind === 'a new login' ? 10_000 : INPUT_DEADLINE_MS);
  if (kind === 'a new login') {
    const intruder = new SshClientSession(createSshConfig());
    intruder.onAuthenticating((e) => (e.authenticationPromise = Promise.resolve({})));
    const stream = await sys.relay.sessionStream(sid);
    // The intruder must not close the relay's socket itself (its library does on a disconnect):
    // the door watches how the agent closes it.
    stream.close = () => Promise.resolve();
    stream.dispose = () => {};
    const started = await startSshSession(intruder, stream);
    if (started.ok) {
      if (await intruder.authenticate({ username: 'fuzz', publicKeys: [sys.userKey] }).catch(() => false))
        finding(stats, `a resume connection accepted a new login (${sid})`);
      if (
        await intruder.openChannel('session').then(
          () => true,
          () => false,
        )
      )
        finding(stats, `a resume connection opened a channel (${sid})`);
    }
    // The agent ends it (at the channel open, or at its auth timeout: 3 s here); the intruder is
    // let go only then, or its own close would be taken for the agent's.
    void closed.finally(() => releaseSession(intruder));
  } else {
    const frames: Buffer[] =
      kind === 'junk'
        ? [Buffer.alloc(1 + Math.floor(rnd() * 600), Math.floor(rnd() * 256))]
        : corpus.slice(0, 1 + Math.floor(rnd() * corpus.length)).map((f) => Buffer.from(f));
    if (kind === 'mutated handshake') {
      const victim = Math.floor(rnd() * frames.length);
      frames[victim] = mutateBytes(frames[victim]!, rnd);
      if (frames[victim]!.length === 0) frames[victim] = Buffer.from([0]);
    }
    for (const f of frames) ws.send(f);
  }
  const end = await closed;
  if (end === 'open') outcome(stats, `${kind}: still open at the deadline (dropped by the fuzzer)`);
  else if (!end.reason)
    finding(stats, `${kind}: agent closed a resume connection of ${sid} with code ${end.code} and no reason`);
  else outcome(stats, `${kind}: closed ${end.code}: ${end.reason.replace(/[0-9a-f-]{36}/g, '<sid>').slice(0, 50)}`);
  ws.terminate();
}
