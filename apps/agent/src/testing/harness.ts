import { randomUUID } from 'node:crypto';
import {
  CommandRequestMessage,
  SshAuthenticationType,
  SshClientSession,
  SshDisconnectReason,
  type KeyPair,
  type SshChannel,
} from '@microsoft/dev-tunnels-ssh';
import { sshFingerprint } from '@airlock/shared';
import { createSshConfig, generateHostKey, keyFingerprint, startSshSession } from '@airlock/shared/ssh';
import { pino } from 'pino';
import { startAgent, type RunningAgent, type StartAgentOptions } from '../agent.js';
import { resolveAgentConfig, type AgentConfigInput } from '../config.js';
import { releaseSession } from '@airlock/shared/ssh';
import { createServer, type Socket } from 'node:net';
import { listenOnLoopback, portOf, privateTestShell } from '@airlock/shared/testing';
import { FakeRelay } from './fake-relay.js';

/** Logs go to stderr only when AIRLOCK_TEST_LOG is set (e.g. AIRLOCK_TEST_LOG=debug). */
export function testLogger() {
  const level = process.env.AIRLOCK_TEST_LOG;
  return level ? pino({ level }, pino.destination(2)) : pino({ level: 'silent' });
}

export async function startTestAgent(
  relay: FakeRelay,
  overrides: Partial<AgentConfigInput> = {},
  options: StartAgentOptions = {},
): Promise<RunningAgent> {
  const config = resolveAgentConfig({
    relayUrl: relay.url,
    relayPin: relay.pin,
    vmId: relay.vmId,
    credential: relay.credential,
    relayPublicKeyPem: relay.relayPublicKeyPem,
    policy: { allowedPorts: [] },
    shell: privateTestShell(),
    ...overrides,
  });
  return startAgent(config, { logger: testLogger(), ...options });
}

/** A fake relay and an online agent for one test; both are closed afterwards, pass or fail. */
export async function withOnlineAgent<T>(
  overrides: Partial<AgentConfigInput>,
  body: (ctx: { relay: FakeRelay; agent: RunningAgent }) => Promise<T>,
): Promise<T> {
  const relay = await FakeRelay.start();
  const agent = await startTestAgent(relay, overrides);
  try {
    await agent.whenOnline();
    return await body({ relay, agent });
  } finally {
    await agent.close();
    await relay.close();
  }
}

export interface TestClient {
  sid: string;
  client: SshClientSession;
  authenticated: boolean;
  close(): Promise<void>;
}

/** Issues a ticket, dials the agent through the fake relay, connects and authenticates a real SSH client. */
export async function connectClient(
  relay: FakeRelay,
  agent: RunningAgent,
  opts: { userKey?: KeyPair; ticketKey?: KeyPair; ports?: number[]; authenticate?: boolean } = {},
): Promise<TestClient> {
  const userKey = opts.userKey ?? (await generateHostKey());
  const sid = randomUUID();
  const { token } = await relay.issuer.issueTicket({
    sub: 'alice',
    sid,
    vm: relay.vmId,
    ukey: await keyFingerprint(opts.ticketKey ?? userKey),
    ports: opts.ports ?? [],
  });
  relay.dial(sid, token);
  const stream = await relay.sessionStream(sid);
  const client = new SshClientSession(createSshConfig());
  client.onAuthenticating((e) => {
    if (e.authenticationType !== SshAuthenticationType.serverPublicKey || !e.publicKey) return;
    const key = e.publicKey;
    // Pin the host key the agent registered, as Connect does.
    e.authenticationPromise = key
      .getPublicKeyBytes()
      .then((b) => (b && sshFingerprint(Buffer.from(b)) === agent.hostKeyFingerprint ? {} : null));
  });
  const started = await startSshSession(client, stream);
  if (!started.ok) throw new Error(`ssh handshake failed: ${started.error.message}`);
  let authenticated = false;
  if (opts.authenticate !== false)
    authenticated = await client.authenticate({ username: 'alice', publicKeys: [userKey] });
  return {
    sid,
    client,
    authenticated,
    close: async () => {
      await client.close(SshDisconnectReason.byApplication).catch(() => {});
      releaseSession(client);
    },
  };
}

export interface Collected {
  stdout: Buffer[];
  stderr: Buffer[];
  text(): string;
  errText(): string;
  closed: Promise<{ exitStatus?: number; exitSignal?: string; errorMessage?: string }>;
  eof: Promise<void>;
  /** Resolves when stdout contains `needle`. */
  waitFor(needle: string | RegExp, timeoutMs?: number): Promise<string>;
}

export function collect(channel: SshChannel, opts: { adjust?: boolean } = {}): Collected {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let notify: (() => void) | undefined;
  channel.onDataReceived((d) => {
    stdout.push(Buffer.from(d));
    if (opts.adjust !== false) channel.adjustWindow(d.length);
    notify?.();
  });
  channel.onExtendedDataReceived((e) => {
    stderr.push(Buffer.from(e.data));
    channel.adjustWindow(e.data.length);
  });
  const text = () => Buffer.concat(stdout).toString();
  return {
    stdout,
    stderr,
    text,
    errText: () => Buffer.concat(stderr).toString(),
    closed: new Promise((r) =>
      channel.onClosed((e) => r({ exitStatus: e.exitStatus, exitSignal: e.exitSignal, errorMessage: e.errorMessage })),
    ),
    eof: new Promise((r) => channel.onEof(() => r())),
    waitFor(needle, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const t = text();
          if (typeof needle === 'string' ? t.includes(needle) : needle.test(t)) {
            clearTimeout(timer);
            notify = undefined;
            resolve(t);
          }
        };
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${String(needle)}; got ${JSON.stringify(text())}`)),
          timeoutMs,
        );
        notify = check;
        check();
      });
    },
  };
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))),
    ]);
  } finally {
    clearTimeout(t);
  }
}

export async function waitForProcessGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Sends `chunk` until `limit` bytes are sent, a send has waited `stallMs` for window, or the
 * channel or session closes; resolves with the bytes sent. For tests of what a peer may push.
 */
export async function sendUntilStalled(ch: SshChannel, chunk: Buffer, limit: number, stallMs: number): Promise<number> {
  let sent = 0;
  while (sent < limit) {
    const send = ch.send(chunk).then(
      () => true,
      () => false,
    );
    if (!(await Promise.race([send, new Promise<false>((r) => setTimeout(() => r(false), stallMs))]))) break;
    sent += chunk.length;
  }
  return sent;
}

/** An `exec` channel request that wants a reply. */
export function execRequest(command: string): CommandRequestMessage {
  const m = new CommandRequestMessage();
  m.command = command;
  m.wantReply = true;
  return m;
}

/** A forward target that accepts and never reads: whatever the agent is given for it waits in the agent. */
export async function targetThatNeverReads(): Promise<{ port: number; close(): void }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    s.pause();
    sockets.push(s);
  });
  await listenOnLoopback(server);
  return {
    port: portOf(server),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
