import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Agent as UndiciAgent } from 'undici';
import { connectPinned, type PinnedTlsOptions } from './pinned-connect.js';

/**
 * undici costs ~120 ms to load; programs that never make a REST call (the agent at run time, a
 * CLI command answered locally) should not pay for it, so it is required on first use.
 */
export function loadUndici(): typeof Undici {
  return createRequire(import.meta.url)('undici') as typeof Undici;
}

let undiciImport: Promise<typeof Undici> | undefined;

/**
 * undici, loaded on first use as `loadUndici` does, but by `import()`: a bundler can follow that,
 * so the CLI's bundle carries undici as a chunk of its own (compiled once into V8's code cache)
 * instead of Node resolving and compiling its ~100 files from node_modules on every start (~90 ms
 * of `airlock exec` and of the app's first relay call). In a bundle the two are different copies:
 * give a fetch only an Agent of its own copy (createPinnedDispatcher's `undici` argument).
 */
export function importUndici(): Promise<typeof Undici> {
  // undici is CommonJS: its exports are the ES module's default, under Node and in the bundle.
  undiciImport ??= import('undici').then((m) => (m as unknown as { default: typeof Undici }).default);
  return undiciImport;
}

/**
 * An undici dispatcher whose every connection is pinned: `fetch(url, { dispatcher })` from the
 * `undici` package. A pin mismatch rejects the fetch with a `TypeError('fetch failed')` whose
 * `cause` is the `TlsPinMismatchError`.
 */
export function createPinnedDispatcher(
  options: PinnedTlsOptions,
  agentOptions: Omit<UndiciAgent.Options, 'connect'> = {},
  undici: typeof Undici = loadUndici(),
): UndiciAgent {
  return new undici.Agent({
    ...agentOptions,
    connect: (target, callback) => {
      if (target.protocol !== 'https:') {
        callback(new Error(`pinned connections are https only; use https:// instead of ${target.protocol}//`), null);
        return;
      }
      connectPinned({
        ...options,
        host: target.hostname,
        port: target.port ? Number(target.port) : 443,
        servername: options.servername ?? target.servername ?? undefined,
      }).then(
        (socket) => callback(null, socket),
        (e: unknown) => callback(e instanceof Error ? e : new Error(String(e)), null),
      );
    },
  });
}

/**
 * An https.Agent whose sockets are pinned, for `ws` (`new WebSocket('wss://…', { agent })`) and
 * `https.request`. Node's http client accepts a socket handed to the `createConnection` callback
 * later, so the request is only written once the pin has been checked.
 */
export class PinnedHttpsAgent extends HttpsAgent {
  readonly #pinned: PinnedTlsOptions;

  constructor(pinned: PinnedTlsOptions, agentOptions: HttpsAgentOptions = {}) {
    super(agentOptions);
    this.#pinned = pinned;
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    if (!callback) throw new Error('PinnedHttpsAgent needs the callback form of createConnection');
    const host = options.host ?? options.hostname ?? 'localhost';
    connectPinned({
      ...this.#pinned,
      host: host.startsWith('[') ? host.slice(1, -1) : host,
      port: Number(options.port ?? options.defaultPort ?? 443),
      servername: this.#pinned.servername,
    }).then(
      (socket) => callback(null, socket),
      (e: unknown) => callback(e instanceof Error ? e : new Error(String(e)), undefined as unknown as Duplex),
    );
    return undefined;
  }
}

export function createPinnedHttpsAgent(
  options: PinnedTlsOptions,
  agentOptions: HttpsAgentOptions = {},
): PinnedHttpsAgent {
  return new PinnedHttpsAgent(options, agentOptions);
}
