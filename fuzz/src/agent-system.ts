import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyPair } from '@microsoft/dev-tunnels-ssh';
import type { WebSocket } from 'ws';
import { FakeRelay } from '@airlock/agent/testing/fake-relay';
import { generateHostKey, keyFingerprint } from '@airlock/shared/ssh';
import { startChild, type Child } from './children.js';

/**
 * The agent under fuzz: a real `airlock-agent` child process connected to a stand-in relay in
 * this process (TLS, control link, tickets signed by its key), so the fuzzer can open many
 * sessions quickly and talk to the agent's SSH server directly. Nothing it runs can do harm:
 * its shell is /bin/true (so `shell` and `exec` run nothing), its sftp-server is /bin/cat, and
 * its only forward target is an echo service of this process.
 */
export interface AgentSystem {
  relay: FakeRelay;
  child: Child;
  userKey: KeyPair;
  echoPort: number;
  /** A new session: ticket, dial; resolves with the session id once the agent's data socket is there. */
  dial(): Promise<string>;
  /**
   * A resume of session `sid` for its own user (a valid ticket): resolves with the agent's new
   * data socket for it, once the agent opened one.
   */
  resumeDial(sid: string): Promise<WebSocket>;
  close(): Promise<void>;
}

export async function startAgentSystem(): Promise<AgentSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-fuzz-agent-'));
  const relay = await FakeRelay.start();
  const echo: Server = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await new Promise((r) => echo.once('listening', r));
  const echoPort = (echo.address() as AddressInfo).port;
  const configFile = join(dir, 'agent.json');
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  writeFileSync(
    configFile,
    JSON.stringify({
      relayUrl: relay.url,
      relayPin: relay.pin,
      vmId: relay.vmId,
      credential: relay.credential,
      relayPublicKeyPem: relay.relayPublicKeyPem,
      stateDir: join(dir, 'state'),
      policy: { allowedPorts: [echoPort] },
      shell: '/bin/true',
      sftpServerPath: '/bin/cat',
      authTimeoutMs: 3000,
      // The control-link door drops the link on purpose; come back at once.
      backoff: { minDelayMs: 20, maxDelayMs: 100, stableAfterMs: 0 },
      logLevel: 'warn',
    }),
    { mode: 0o600 },
  );
  const child = startChild('airlock-agent', ['--config', configFile]);
  const userKey = await generateHostKey();
  const ukey = await keyFingerprint(userKey);
  try {
    await relay.until(() => relay.messages.some((m) => m.type === 'register'), 30_000, 'the agent to register');
  } catch (e) {
    await child.stop();
    throw new Error(`${(e as Error).message}: ${child.tail()}`, { cause: e });
  }
  return {
    relay,
    child,
    userKey,
    echoPort,
    async dial() {
      const sid = randomUUID();
      const { token } = await relay.issuer.issueTicket({ sub: 'fuzz', sid, vm: relay.vmId, ukey, ports: [echoPort] });
      relay.dial(sid, token);
      await relay.sessionSocket(sid, 10_000);
      return sid;
    },
    async resumeDial(sid) {
      const previous = await relay.sessionSocket(sid);
      const { token } = await relay.issuer.issueTicket({ sub: 'fuzz', sid, vm: relay.vmId, ukey, ports: [echoPort] });
      relay.dial(sid, token, { resume: true });
      return relay.replacedSessionSocket(sid, previous, 10_000);
    },
    async close() {
      await child.stop();
      await relay.close();
      echo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
