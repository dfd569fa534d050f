import { config } from 'zod';

// Imported first by the CLI's context, so it runs before Connect's schemas are built.
//
// zod compiles a parser for each object schema (`new Function`) the first time it parses with it,
// which pays off for a program that parses the same shapes many times. A CLI command parses each
// of its schemas once or twice and exits: compiling costs more than it saves (`airlock exec vm --
// true` used ~4 % less CPU without it, 181 vs 189 ms in 30 alternating runs). The relay and the
// agent, which run for months, keep zod's default.
config({ jitless: true });
