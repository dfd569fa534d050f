import fc from 'fast-check';
import { SshClientSession, SshDisconnectReason } from '@microsoft/dev-tunnels-ssh';
import type { WebSocket } from 'ws';
import { createSshConfig, releaseSession, startSshSession } from '@airlock/shared/ssh';
import type { AgentSystem } from '../agent-system.js';
import { craftedMessage } from '../ssh-messages.js';
import { checkChild, finding, newStats, outcome, rssMiB, sampleRss, type DoorStats } from '../stats.js';
import { mutateBytes, prng } from '../values.js';

/** How long one pre-authentication input may keep a session before the fuzzer drops it. */
const INPUT_DEADLINE_MS = 250;

/** Resolves with the agent's close code and reason, or 'open' if it still holds the socket at the deadline. */
export function agentClose(ws: WebSocket, ms: number): Promise<{ code: number; reason: string } | 'open'> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('open'), ms);
    ws.once('close', (code, reason) => {
      clearTimeout(t);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** A real client's handshake, frame by frame, as the agent received it: the mutation corpus. */
export async function recordHandshake(sys: AgentSystem): Promise<Buffer[]> {
  const sid = await sys.dial();
  const ws = await sys.relay.sessionSocket(sid);
  const frames: Buffer[] = [];
  const send = ws.send.bind(ws) as (data: Buffer, ...rest: unknown[]) => void;
  (ws as unknown as { send: (data: Buffer, ...rest: unknown[]) => void }).send = (data, ...rest) => {
    frames.push(Buffer.from(data));
    send(data, ...rest);
  };
  const client = await authenticated(sys, sid);
  if (client) {
    await client.openChannel('session').catch(() => undefined);
    await client.close(SshDisconnectReason.byApplication).catch(() => {});
    releaseSession(client);
  }
  sys.relay.forgetSession(sid);
  if (frames.length < 4) throw new Error(`recorded only ${frames.length} frames of a real handshake`);
  return frames;
}

export async function authenticated(sys: AgentSystem, sid: string): Promise<SshClientSession | undefined> {
  const stream = await sys.relay.sessionStream(sid);
  const client = new SshClientSession(createSshConfig());
  client.onAuthenticating((e) => (e.authenticationPromise = Promise.resolve({})));
  const started = await startSshSession(client, stream);
  if (!started.ok || !(await client.authenticate({ username: 'fuzz', publicKeys: [sys.userKey] }).catch(() => false))) {
    releaseSession(client);
    return undefined;
  }
  return client;
}

/**
 * The SSH front door of a real agent process, from the Connect side: (1) a real client's
 * handshake, mutated frame by frame (version line, KEXINIT, key exchange, then encrypted
 * packets that fail their MAC), and random bytes; (2) inside authenticated sessions, crafted
 * connection-protocol messages with absurd values. The agent must stay up, close each broken
 * session with a reason, and keep serving.
 */
export async function fuzzAgentSsh(sys: AgentSystem, inputs: number, seed: number): Promise<DoorStats> {
  const stats = newStats('agent SSH (Connect → agent)');
  stats.childProcess = true;
  stats.rssStartMiB = rssMiB(sys.child.pid);
  const bugsBefore = sys.child.bugs().length;
  const corpus = await recordHandshake(sys);
  const rnd = prng(seed);
  const preAuth = Math.ceil(inputs / 2);
  for (let i = 0; i < preAuth && sys.child.alive(); i++) {
    stats.inputs++;
    sampleRss(stats, sys.child.pid, Math.ceil(inputs / 10));
    const sid = await sys.dial();
    const ws = await sys.relay.sessionSocket(sid);
    // A prefix of the real handshake with one frame mutated (or, sometimes, pure junk).
    const upTo = 1 + Math.floor(rnd() * corpus.length);
    const frames: Buffer[] = corpus.slice(0, upTo).map((f) => Buffer.from(f));
    const victim = Math.floor(rnd() * frames.length);
    frames[victim] =
      rnd() < 0.1
        ? Buffer.alloc(1 + Math.floor(rnd() * 600), Math.floor(rnd() * 256))
        : mutateBytes(frames[victim]!, rnd);
    if (frames[victim]!.length === 0) frames[victim] = Buffer.from([0]);
    const closed = agentClose(ws, INPUT_DEADLINE_MS);
    for (const f of frames) ws.send(f);
    const end = await closed;
    if (end === 'open') outcome(stats, 'still open at the deadline (dropped by the fuzzer)');
    else if (!end.reason) {
      outcome(stats, `closed without a reason (${end.code})`);
      finding(stats, `agent closed session ${sid} with code ${end.code} and no reason`);
    } else outcome(stats, `closed ${end.code}: ${end.reason.replace(/[0-9a-f-]{36}/g, '<sid>').slice(0, 60)}`);
    sys.relay.forgetSession(sid);
  }

  // Authenticated sessions, each fed crafted messages until the agent closes it (or 40 are sent).
  const messages = fc.sample(craftedMessage, { numRuns: inputs - preAuth, seed });
  let next = 0;
  while (next < messages.length && sys.child.alive()) {
    const sid = await sys.dial();
    const ws = await sys.relay.sessionSocket(sid);
    const client = await authenticated(sys, sid);
    if (!client) {
      finding(stats, `a legitimate session failed to authenticate (${sid})`);
      sys.relay.forgetSession(sid);
      break;
    }
    const closed = agentClose(ws, 60_000);
    let sent = 0;
    for (; sent < 40 && next < messages.length && !client.isClosed; sent++) {
      stats.inputs++;
      sampleRss(stats, sys.child.pid, Math.ceil(inputs / 10));
      await client.sendMessage(messages[next++]!).catch(() => {});
      // Let the agent's one-message-at-a-time loop take it before the next.
      await new Promise((r) => setImmediate(r));
    }
    outcome(
      stats,
      client.isClosed ? 'session closed by the agent after crafted messages' : 'session survived 40 crafted messages',
    );
    await client.close(SshDisconnectReason.byApplication).catch(() => {});
    releaseSession(client);
    ws.terminate();
    await closed;
    sys.relay.forgetSession(sid);
  }

  // Still serving: a legitimate session authenticates and opens a channel.
  if (sys.child.alive()) {
    const sid = await sys.dial();
    const client = await authenticated(sys, sid);
    const channel = client && (await client.openChannel('session').catch(() => undefined));
    if (!channel) finding(stats, 'after the run, a legitimate session could not open a channel');
    if (client) releaseSession(client);
    sys.relay.forgetSession(sid);
  }
  checkChild(stats, sys.child, bugsBefore, 'the agent');
  return stats;
}
