import fc from 'fast-check';
import type { WebSocket } from 'ws';
import { generateHostKey } from '@airlock/shared/ssh';
import { openVmSession } from '@airlock/connect';
import { runFakeAgent } from '@airlock/connect/test-support/fake-agent';
import { fakeCredentials, startFakeRelay } from '@airlock/connect/test-support/fake-relay';
import { craftedMessage } from '../ssh-messages.js';
import { finding, newStats, outcome, rssMiB, watchStrayErrors, type DoorStats } from '../stats.js';
import { mutateBytes, prng } from '../values.js';

/**
 * The SSH front door of Connect, from the VM side (a hostile agent, or a relay gone bad), in this
 * process: (1) a real agent's handshake mutated frame by frame, and junk; (2) inside
 * authenticated sessions, crafted messages from the agent with absurd values. Every session must
 * end as a typed error and nothing may escape as an unhandled rejection or exception — in the
 * real `airlock` process that would be a crash (or, with the guard, a reported bug).
 */
export async function fuzzConnectSsh(inputs: number, seed: number): Promise<DoorStats> {
  const stats = newStats('Connect SSH (agent → Connect)');
  const stopWatching = watchStrayErrors(stats);
  stats.rssStartMiB = rssMiB();
  const relay = await startFakeRelay();
  const credentials = await fakeCredentials(relay);
  try {
    // The corpus: what a real agent sends Connect, frame by frame.
    const corpus: Buffer[] = [];
    const hostKey = await generateHostKey();
    relay.hostileAgent = (ws) => {
      const send = ws.send.bind(ws) as (d: Buffer, ...r: unknown[]) => void;
      (ws as unknown as { send: (d: Buffer, ...r: unknown[]) => void }).send = (d, ...r) => {
        corpus.push(Buffer.from(d));
        send(d, ...r);
      };
      runFakeAgent(ws, {
        hostKey,
        acceptUserKey: undefined,
        agentPorts: [],
        seen: { requests: [], windowChanges: [] },
      });
    };
    await openVmSession({ credentials, vm: 'demo-vm', timeoutMs: 5000 }); // fails on the host key; the frames are what we want
    if (corpus.length < 3) throw new Error(`recorded only ${corpus.length} frames of a real agent handshake`);

    const rnd = prng(seed);
    const preAuth = Math.ceil(inputs / 2);
    for (let i = 0; i < preAuth; i++) {
      stats.inputs++;
      const upTo = 1 + Math.floor(rnd() * corpus.length);
      const frames: Buffer[] = corpus.slice(0, upTo).map((f) => Buffer.from(f));
      const victim = Math.floor(rnd() * frames.length);
      frames[victim] = mutateBytes(frames[victim]!, rnd);
      relay.hostileAgent = (ws: WebSocket) => {
        for (const f of frames) if (f.length) ws.send(f);
        // Then the hostile side goes quiet and leaves: Connect must not wait for its timeout.
        setTimeout(() => ws.close(1000), 50);
      };
      const r = await openVmSession({ credentials, vm: 'demo-vm', timeoutMs: 3000 });
      if (r.ok) {
        finding(stats, 'a mutated handshake produced an open session');
        await r.value.close();
      } else outcome(stats, r.error.code);
    }
    relay.hostileAgent = undefined;

    // Authenticated sessions with an exec channel open; the agent side then sends crafted messages.
    const messages = fc.sample(craftedMessage, { numRuns: inputs - preAuth, seed });
    let next = 0;
    while (next < messages.length) {
      const opened = await openVmSession({ credentials, vm: 'demo-vm', timeoutMs: 5000 });
      if (!opened.ok) {
        finding(stats, `a legitimate session failed: ${opened.error.message}`);
        break;
      }
      const session = opened.value;
      const exec = await session.exec('cat');
      if (exec.ok) {
        exec.value.stdout.resume();
        exec.value.stderr.resume();
        void exec.value.exit.catch(() => {});
      }
      const agent = relay.agentSessions.at(-1)!;
      for (let sent = 0; sent < 40 && next < messages.length && !session.isClosed; sent++) {
        stats.inputs++;
        await agent.sendMessage(messages[next++]!).catch(() => {});
        await new Promise((r) => setImmediate(r));
      }
      outcome(stats, session.isClosed ? 'session ended by Connect' : 'session survived 40 crafted messages');
      await session.close();
      agent.dispose();
    }
  } finally {
    await relay.close();
    // Stray rejections surface on the next turns of the event loop.
    await new Promise((r) => setTimeout(r, 50));
    stopWatching();
  }
  stats.rssEndMiB = rssMiB();
  return stats;
}
