/**
 * The relay's address in its two forms: https for its API (and the codes that name it), wss for
 * the agent's sockets. One parser for the relay, which prints the URL into codes, and the agent.
 */
export interface RelayAddress {
  /** `https://host[:port][/prefix]`, no trailing slash. */
  https: string;
  /** `wss://host[:port][/prefix]`, no trailing slash. */
  wss: string;
}

export type RelayUrlResult = { ok: true; value: RelayAddress } | { ok: false; message: string };

/**
 * Accepts `https://` or `wss://` (the relay serves both on one port) and refuses plain
 * `http://` / `ws://`: the relay is TLS only, and an agent must never send its credential in clear.
 */
export function parseRelayUrl(input: string): RelayUrlResult {
  const text = input.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'ws')
    return {
      ok: false,
      message: `the relay is reached over TLS only: use https:// or wss://, not ${scheme}:// (${text})`,
    };
  if (scheme !== 'https' && scheme !== 'wss')
    return {
      ok: false,
      message: `must be an https:// or wss:// URL, e.g. https://relay.example.org:7443 (got ${text})`,
    };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: `not a valid URL: ${text}` };
  }
  if (!url.hostname || url.search || url.hash || url.username || url.password)
    return { ok: false, message: `must be a plain relay address without credentials, query or fragment: ${text}` };
  const rest = `${url.host}${url.pathname}`.replace(/\/+$/, '');
  return { ok: true, value: { https: `https://${rest}`, wss: `wss://${rest}` } };
}
