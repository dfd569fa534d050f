import { startAgentSystem } from './agent-system.js';
import { fuzzAgentControl } from './doors/agent-control.js';
import { fuzzAgentResume } from './doors/agent-resume.js';
import { fuzzAgentSsh } from './doors/agent-ssh.js';
import { fuzzConnectSsh } from './doors/connect-ssh.js';
import { fuzzParsers } from './doors/parsers.js';
import { fuzzRest } from './doors/rest.js';
import { fuzzUpgrades } from './doors/upgrades.js';
import { startRelaySystem } from './relay-system.js';
import type { DoorStats } from './stats.js';

/** Inputs per door. */
export interface FuzzBudget {
  rest: number;
  upgrades: number;
  agentSsh: number;
  agentControl: number;
  agentResume: number;
  connectSsh: number;
  parsers: number;
}

/** A few seconds per door: the run inside `npm test`. */
export const SHORT: FuzzBudget = {
  rest: 400,
  upgrades: 200,
  agentSsh: 200,
  agentControl: 200,
  agentResume: 48,
  connectSsh: 100,
  parsers: 500,
};

/** `npm run fuzz`: over 100 000 inputs. */
export const LONG: FuzzBudget = {
  rest: 30_000,
  upgrades: 12_000,
  agentSsh: 16_000,
  agentControl: 10_000,
  agentResume: 3_000,
  connectSsh: 6_000,
  parsers: 30_000,
};

/**
 * Growth in resident memory a fuzzed child process may show from the end of a door's warm-up
 * (its first 10 % of inputs, while V8's heap and the caches fill) to the end of the door. A leak
 * per input climbs through the whole run; a warming heap levels off (measured: the relay went
 * 109 → 177 MiB over the first 6 000 REST inputs, then 201 → 205 MiB over the last 40 000; V8
 * also grows its heap in steps of ~30 MiB now and then). 64 MiB over 30 000 inputs still catches
 * a leak of ~2 KiB per input.
 */
export const RSS_GROWTH_BOUND_MIB = 64;

/** The seed: FUZZ_SEED replays a run; otherwise a new one each time (printed with the results). */
export function fuzzSeed(): number {
  const fromEnv = Number(process.env.FUZZ_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
}

export async function relayDoors(b: FuzzBudget, seed: number): Promise<DoorStats[]> {
  const sys = await startRelaySystem();
  try {
    return [await fuzzRest(sys, b.rest, seed), await fuzzUpgrades(sys, b.upgrades, seed)];
  } finally {
    await sys.close();
  }
}

export async function agentDoors(b: FuzzBudget, seed: number): Promise<DoorStats[]> {
  const sys = await startAgentSystem();
  try {
    return [
      await fuzzAgentSsh(sys, b.agentSsh, seed),
      await fuzzAgentResume(sys, b.agentResume, seed),
      await fuzzAgentControl(sys, b.agentControl, seed),
    ];
  } finally {
    await sys.close();
  }
}

/** In this process: run one at a time (stray-error watching is process-wide). */
export async function connectDoors(b: FuzzBudget, seed: number): Promise<DoorStats[]> {
  return [await fuzzConnectSsh(b.connectSsh, seed), await fuzzParsers(b.parsers, seed)];
}

/** What makes a run fail: a crash, a 5xx, a finding, or a child whose memory grew past the bound. */
export function problems(all: DoorStats[], rssBound = RSS_GROWTH_BOUND_MIB): string[] {
  const out: string[] = [];
  for (const s of all) {
    if (s.crashes) out.push(`${s.door}: ${s.crashes} crash(es)`);
    if (s.fiveXx) out.push(`${s.door}: ${s.fiveXx} 5xx`);
    for (const f of s.findings) out.push(`${s.door}: ${f}`);
    const warm = s.rssSeries[0];
    if (s.childProcess && warm !== undefined && s.rssEndMiB - warm > rssBound)
      out.push(
        `${s.door}: resident memory grew ${(s.rssEndMiB - warm).toFixed(1)} MiB after its warm-up (bound ${rssBound})`,
      );
  }
  return out;
}
