import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveAgentConfig } from './config.js';
import { enrollAgent } from './enroll.js';
import { STATE_FILES } from './state-dir.js';
import { FakeRelay } from './testing/fake-relay.js';
import { startTestAgent } from './testing/harness.js';

const randomPin = () => `sha256/${randomBytes(32).toString('base64')}`;
const mode = (p: string) => statSync(p).mode & 0o777;
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

let relay: FakeRelay;
let root: string;
let n = 0;
/** A fresh, not yet existing state dir below the test's temp folder. */
const freshDir = () => join(root, `state-${++n}`, 'agent');

before(async () => {
  relay = await FakeRelay.start({ vmId: 'lab-vm-01' });
  root = mkdtempSync(join(tmpdir(), 'agent-enroll-'));
});
after(async () => {
  await relay.close();
  rmSync(root, { recursive: true, force: true });
});

describe('enrollAgent', () => {
  test('writes the state with the right modes, and the agent then runs from the state dir alone', async () => {
    const dir = freshDir();
    const r = await enrollAgent({ relayUrl: `${relay.httpsUrl}/`, token: relay.newEnrollmentToken(), stateDir: dir });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, STATE_FILES.credential)), 0o600);
    assert.equal(readFileSync(join(dir, STATE_FILES.credential), 'utf8').trim(), relay.credential);
    assert.equal(readFileSync(join(dir, STATE_FILES.relaySigningKey), 'utf8'), relay.relayPublicKeyPem);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, STATE_FILES.relay), 'utf8')), {
      relayUrl: relay.httpsUrl,
      relayPin: relay.pin,
      vm: 'lab-vm-01',
    });

    const config = resolveAgentConfig({ stateDir: dir, shell: '/bin/sh' }, {});
    assert.equal(config.relayUrl, relay.url);
    assert.equal(config.vmId, 'lab-vm-01');
    assert.equal(config.credentialFile, join(dir, STATE_FILES.credential));
    const agent = await startTestAgent(relay, {
      relayUrl: undefined,
      relayPin: undefined,
      vmId: undefined,
      credential: undefined,
      relayPublicKeyPem: undefined,
      stateDir: dir,
    });
    try {
      await agent.whenOnline();
    } finally {
      await agent.close();
    }
  });

  test('refuses to replace an enrollment without force, before spending the token', async () => {
    const dir = freshDir();
    assert.ok((await enrollAgent({ relayUrl: relay.httpsUrl, token: relay.newEnrollmentToken(), stateDir: dir })).ok);
    const before = readFileSync(join(dir, STATE_FILES.relay), 'utf8');
    const requests = relay.enrollRequests;
    const token = relay.newEnrollmentToken();
    const again = await enrollAgent({ relayUrl: relay.httpsUrl, token, stateDir: dir });
    assert.equal(again.ok, false);
    assert.ok(!again.ok);
    assert.equal(again.error.code, 'already-enrolled');
    assert.match(again.error.message, /already holds an agent enrollment for VM lab-vm-01.*use --force/);
    assert.equal(relay.enrollRequests, requests, 'nothing was sent');
    assert.equal(readFileSync(join(dir, STATE_FILES.relay), 'utf8'), before);

    const forced = await enrollAgent({ relayUrl: relay.httpsUrl, token, stateDir: dir, force: true });
    assert.ok(forced.ok, JSON.stringify(forced));
    assert.equal(relay.enrollRequests, requests + 1);
  });

  test('a used token is refused with the relay message, and nothing is written', async () => {
    const token = relay.newEnrollmentToken();
    assert.ok((await enrollAgent({ relayUrl: relay.httpsUrl, token, stateDir: freshDir() })).ok);
    const dir = freshDir();
    const r = await enrollAgent({ relayUrl: relay.httpsUrl, token, stateDir: dir });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'rejected');
    assert.equal(r.error.message, 'the relay refused the token: this agent enrollment token was already used');
    for (const f of Object.values(STATE_FILES)) assert.equal(existsSync(join(dir, f)), false, f);
  });

  test('a relay whose TLS key does not match the token pin gets no request', async () => {
    const connections = relay.tcpConnections;
    const requests = relay.enrollRequests;
    const r = await enrollAgent({
      relayUrl: relay.httpsUrl,
      token: relay.newEnrollmentToken(randomPin()),
      stateDir: freshDir(),
    });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'tls-pin-mismatch');
    assert.match(r.error.message, new RegExp(`presented TLS key ${relay.pin.replace(/[+/]/g, '\\$&')}`));
    assert.match(r.error.message, /nothing was sent/);
    assert.equal(relay.tcpConnections, connections + 1, 'the TLS handshake happened');
    assert.equal(relay.enrollRequests, requests, 'but no request followed it');
  });

  test('rate limiting is reported with the Retry-After', async () => {
    relay.enrollRateLimitSeconds = 42;
    try {
      const r = await enrollAgent({
        relayUrl: relay.httpsUrl,
        token: relay.newEnrollmentToken(),
        stateDir: freshDir(),
      });
      assert.ok(!r.ok);
      assert.equal(r.error.code, 'rate-limited');
      assert.equal(r.error.retryAfterSeconds, 42);
      assert.match(r.error.message, /too many enrollment attempts; try again in 42 s/);
    } finally {
      relay.enrollRateLimitSeconds = undefined;
    }
  });

  test('bad input is refused locally, without contacting the relay', async () => {
    const connections = relay.tcpConnections;
    const port = relay.httpsUrl.split(':').at(-1);
    const cases: [string, string, RegExp][] = [
      [`http://127.0.0.1:${port}`, relay.newEnrollmentToken(), /relay URL: the relay is reached over TLS only/],
      [relay.httpsUrl, 'not-a-token', /enrollment token: not an Airlock enrollment code/],
      [relay.httpsUrl, relay.newEnrollmentToken().replace(/^a1/, 'u1'), /a user enrollment code, not an agent/],
    ];
    for (const [relayUrl, token, re] of cases) {
      const r = await enrollAgent({ relayUrl, token, stateDir: freshDir() });
      assert.ok(!r.ok);
      assert.match(r.error.message, re);
    }
    assert.equal(relay.tcpConnections, connections);
  });
});

function runCli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    env: { PATH: process.env.PATH, HOME: root, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  child.kill('SIGTERM');
  return exited;
}

describe('airlock-agent enroll (CLI)', () => {
  test('enrolls into --state-dir, then refuses a second enrollment without --force', async () => {
    const dir = freshDir();
    const token = relay.newEnrollmentToken();
    const first = runCli(['enroll', relay.httpsUrl, token, '--state-dir', dir]);
    assert.equal(await first.exited, 0, first.output().stderr);
    assert.match(first.output().stdout, /^enrolled VM lab-vm-01 with https:\/\/127\.0\.0\.1:\d+ \(TLS pin sha256\//);
    assert.equal(mode(join(dir, STATE_FILES.credential)), 0o600);
    const { stdout, stderr } = first.output();
    for (const secret of [token.split('.')[1]!, relay.credential])
      assert.ok(!(stdout + stderr).includes(secret), 'secrets are never printed');

    const second = runCli(['enroll', relay.httpsUrl, relay.newEnrollmentToken(), '--state-dir', dir]);
    assert.equal(await second.exited, 2);
    assert.match(
      second.output().stderr,
      /^airlock-agent: .* already holds an agent enrollment .*use --force to replace it\n$/,
    );
  });

  test('the token can stay out of argv: from stdin or --token-file', async () => {
    const viaStdin = runCli(
      ['enroll', relay.httpsUrl, '--state-dir', freshDir()],
      {},
      `${relay.newEnrollmentToken()}\n`,
    );
    assert.equal(await viaStdin.exited, 0, viaStdin.output().stderr);
    assert.match(viaStdin.output().stdout, /^enrolled VM lab-vm-01/);

    const dir = freshDir();
    const file = join(root, `token-${Date.now()}`);
    writeFileSync(file, relay.newEnrollmentToken(), { mode: 0o600 });
    const viaFile = runCli(['enroll', relay.httpsUrl, '--token-file', file, '--state-dir', dir]);
    assert.equal(await viaFile.exited, 0, viaFile.output().stderr);

    const empty = runCli(['enroll', relay.httpsUrl, '-', '--state-dir', freshDir()], {}, '');
    assert.equal(await empty.exited, 2);
    assert.match(empty.output().stderr, /^airlock-agent: no enrollment token in standard input\n$/);
  });

  test('a refused token exits 1 with a one-line message', async () => {
    const r = runCli(['enroll', relay.httpsUrl, relay.newEnrollmentToken(randomPin())], {
      AIRLOCK_AGENT_STATE_DIR: freshDir(),
    });
    assert.equal(await r.exited, 1);
    assert.match(r.output().stderr, /^airlock-agent: the relay at 127\.0\.0\.1:\d+ presented TLS key [^\n]*\n$/);
  });

  test('stopped during its first-start enrollment, the agent finishes it and keeps the credential, then exits 0', async () => {
    // The relay spends the one-time token when the request arrives: an agent that died before the
    // answer was saved would have burnt it. 6 s is past the agent's 5 s stop deadline, which once
    // ran during enrollment too.
    relay.enrollDelayMs = 6_000;
    const dir = freshDir();
    const requests = relay.enrollRequests;
    const registered = relay.messages.filter((m) => m.type === 'register').length;
    const run = runCli([], {
      AIRLOCK_RELAY_URL: relay.httpsUrl,
      AIRLOCK_AGENT_ENROLLMENT_TOKEN: relay.newEnrollmentToken(),
      AIRLOCK_AGENT_STATE_DIR: dir,
    });
    try {
      await relay.until(() => relay.enrollRequests > requests, 15000, 'the enrollment request');
      assert.equal(await stop(run.child, run.exited), 0, run.output().stderr);
      assert.equal(mode(join(dir, STATE_FILES.credential)), 0o600);
      assert.equal(relay.messages.filter((m) => m.type === 'register').length, registered, 'stopped before it started');
    } finally {
      relay.enrollDelayMs = undefined;
      run.child.kill('SIGKILL');
    }
  });

  test('enrollmentToken in the environment enrolls on first start only', async () => {
    const dir = freshDir();
    const requests = relay.enrollRequests;
    const env = {
      AIRLOCK_RELAY_URL: relay.httpsUrl,
      AIRLOCK_AGENT_ENROLLMENT_TOKEN: relay.newEnrollmentToken(),
      AIRLOCK_AGENT_STATE_DIR: dir,
    };
    for (let start = 1; start <= 2; start++) {
      const registered = relay.messages.filter((m) => m.type === 'register').length;
      const run = runCli([], env);
      try {
        await relay.until(
          () => relay.messages.filter((m) => m.type === 'register').length > registered,
          15000,
          `register on start ${start}`,
        );
      } finally {
        assert.equal(await stop(run.child, run.exited), 0, run.output().stderr);
      }
      assert.equal(relay.enrollRequests, requests + 1, 'the token is presented once');
      const msg = start === 1 ? 'enrolled with the relay on first start' : 'already enrolled';
      assert.match(run.output().stdout, new RegExp(msg));
    }
    assert.equal(mode(join(dir, STATE_FILES.credential)), 0o600);
  });
});
