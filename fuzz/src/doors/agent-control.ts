import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import type { AgentSystem } from '../agent-system.js';
import { checkChild, finding, newStats, outcome, rssMiB, sampleRss, type DoorStats } from '../stats.js';
import { mutatedBody, nastyJson } from '../values.js';

/** What the relay says on the control link, and junk: the agent must parse it all and stay up. */
function relayMessage(sys: AgentSystem): fc.Arbitrary<{ data: Buffer | string; binary: boolean }> {
  const examples: Record<string, unknown>[] = [
    { type: 'dial', sessionId: randomUUID(), ticket: 'e30.e30.sig' },
    // A resume of a session the agent does not hold, and the end of one.
    { type: 'dial', sessionId: randomUUID(), ticket: 'e30.e30.sig', resume: true },
    { type: 'end', sessionId: randomUUID(), reason: 'revoked' },
    { type: 'registered', vm: sys.relay.vmId },
  ];
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...examples)
        .chain((e) => mutatedBody(e))
        .map((v) => ({ data: JSON.stringify(v) ?? 'null', binary: false })),
    },
    { weight: 2, arbitrary: nastyJson.map((v) => ({ data: JSON.stringify(v) ?? 'undefined', binary: false })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => ({ data: Buffer.from(a), binary: true })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((s) => ({ data: s, binary: false })) },
    // Past the agent's 64 KiB control-frame limit: the link is dropped and comes back.
    { weight: 1, arbitrary: fc.constant({ data: 'x'.repeat(70 * 1024), binary: false }) },
  );
}

/**
 * Control messages from the relay to a real agent process (dial and resume with bad tickets and
 * ids, the end of a session it does not hold, registered with another VM, junk, binary, oversized frames): the agent stays up, and comes
 * back online whenever it dropped the link.
 */
export async function fuzzAgentControl(sys: AgentSystem, inputs: number, seed: number): Promise<DoorStats> {
  const stats = newStats('agent control link (relay → agent)');
  stats.childProcess = true;
  stats.rssStartMiB = rssMiB(sys.child.pid);
  const bugsBefore = sys.child.bugs().length;
  const openLink = () =>
    sys.relay.until(
      () => (sys.relay.control?.readyState === WebSocket.OPEN ? sys.relay.control : undefined),
      30_000,
      'the agent control link',
    );
  for (const m of fc.sample(relayMessage(sys), { numRuns: inputs, seed })) {
    if (!sys.child.alive()) break;
    let link: WebSocket;
    try {
      link = await openLink();
    } catch (e) {
      finding(stats, `${(e as Error).message}: ${sys.child.tail()}`);
      break;
    }
    stats.inputs++;
    sampleRss(stats, sys.child.pid, Math.ceil(inputs / 10));
    const before = sys.relay.messages.length;
    link.send(m.data, { binary: m.binary });
    await new Promise((r) => setTimeout(r, 2));
    outcome(
      stats,
      link.readyState !== WebSocket.OPEN
        ? 'link dropped by the agent'
        : sys.relay.messages.length > before
          ? 'agent answered'
          : 'ignored',
    );
  }
  // The agent is still the relay's: online again and accepting dials.
  if (sys.child.alive()) {
    try {
      await openLink();
      await sys.dial();
    } catch (e) {
      finding(stats, `after the run the agent did not serve a dial: ${(e as Error).message}`);
    }
  }
  checkChild(stats, sys.child, bugsBefore, 'the agent');
  return stats;
}
