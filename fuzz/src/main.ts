// `npm run fuzz`: the long run over every front door (see the README, "Fuzzing"). The relay's
// and the agent's doors run side by side (two child processes), then Connect's in this process.
// Prints a table (door, inputs, crashes, 5xx, RSS start/end) and exits 1 on any crash, 5xx,
// finding, or memory growth past the bound.   FUZZ_SEED=<n> replays a run; FUZZ_SCALE=0.1 shortens it.
import { cpus, totalmem } from 'node:os';
import {
  agentDoors,
  connectDoors,
  fuzzSeed,
  LONG,
  problems,
  relayDoors,
  RSS_GROWTH_BOUND_MIB,
  type FuzzBudget,
} from './run.js';
import { printTable } from './stats.js';

const scale = Number(process.env.FUZZ_SCALE ?? 1);
const budget = Object.fromEntries(
  Object.entries(LONG).map(([k, v]) => [k, Math.max(1, Math.round(v * (scale > 0 ? scale : 1)))]),
) as unknown as FuzzBudget;
const seed = fuzzSeed();
const started = Date.now();
process.stdout.write(
  `fuzzing every front door: seed ${seed}, ${Object.values(budget).reduce((a, b) => a + b, 0)} inputs planned, ` +
    `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}\n`,
);
const [relay, agent] = await Promise.all([relayDoors(budget, seed), agentDoors(budget, seed)]);
const local = await connectDoors(budget, seed);
const all = [...relay, ...agent, ...local];
printTable(all);
const found = problems(all);
process.stdout.write(
  `\n${Math.round((Date.now() - started) / 1000)} s; seed ${seed}; RSS bound for child processes: +${RSS_GROWTH_BOUND_MIB} MiB per door after its warm-up (first 10 % of its inputs)\n`,
);
if (found.length) {
  process.stdout.write(`FAILED:\n${found.map((f) => `  ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('no crash, no 5xx, memory within bound\n');
process.exit(0);
