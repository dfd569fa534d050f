import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateRelaySigningKey } from '@airlock/shared';
import { backoffDelay } from './backoff.js';
import { ConfigError, configFromEnv, mergeConfigInput, resolveAgentConfig, takeConfigFromEnv } from './config.js';
import { defaultStateDir, STATE_FILES, writeEnrollment } from './state-dir.js';
import type { FakeRelay } from './testing/fake-relay.js';

const pem = generateRelaySigningKey().publicKey.export({ type: 'spki', format: 'pem' }).toString();
const pin = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;
const base = {
  relayUrl: 'wss://relay.example.org/',
  relayPin: pin,
  vmId: 'demo-vm',
  credential: 'demo-vm.secret',
  relayPublicKeyPem: pem,
};

test('defaults are filled and the relay URL is normalised', () => {
  const c = resolveAgentConfig(base, {});
  assert.equal(c.relayUrl, 'wss://relay.example.org');
  assert.equal(c.relayPin, pin);
  assert.equal(
    resolveAgentConfig({ ...base, relayUrl: 'https://relay.example.org:7443//' }, {}).relayUrl,
    'wss://relay.example.org:7443',
  );
  assert.deepEqual(c.policy.allowedPorts, []);
  assert.equal(c.sftpServerPath, '/usr/lib/openssh/sftp-server');
  assert.equal(c.forwardConnectTimeoutMs, 3000);
  assert.equal(c.maxSessions, 64);
  assert.equal(c.maxForwardsPerSession, 1024);
  assert.deepEqual(c.backoff, { minDelayMs: 500, maxDelayMs: 4000, stableAfterMs: 10000 });
  // However long the relay was away, the next try is at most 4 s off: back within 5 s of it.
  assert.ok(backoffDelay(1000, c.backoff, () => 1) <= 4000);
  assert.deepEqual(c.keepAlive, { pingIntervalMs: 15000, pongTimeoutMs: 10000 });
  assert.equal(c.shell, '/bin/bash');
  assert.equal(c.relayPublicKey.asymmetricKeyType, 'ed25519');
});

test('bad configuration names the field', () => {
  const bad = (input: unknown, re: RegExp) =>
    assert.throws(
      () => resolveAgentConfig(input, {}),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
    );
  bad({ ...base, relayUrl: 'ws://relay' }, /relayUrl: the relay is reached over TLS only: use https:\/\/ or wss:\/\//);
  bad({ ...base, relayUrl: 'http://relay:7443' }, /relayUrl: the relay is reached over TLS only.*not http:\/\//);
  bad({ ...base, relayUrl: 'ftp://relay' }, /relayUrl: must be an https:\/\/ or wss:\/\/ URL/);
  bad({ ...base, relayPin: undefined }, /relayPin: missing/);
  bad({ ...base, relayPin: 'sha256/short' }, /relayPin: expected a TLS pin/);
  bad({ ...base, vmId: 'Demo VM' }, /vmId:/);
  bad({ ...base, policy: { allowedPorts: [0] } }, /policy\.allowedPorts\.0/);
  bad({ ...base, credential: undefined }, /credential: missing/);
  bad({ ...base, relayPublicKeyPem: 'nope' }, /relayPublicKeyPem: not a PEM public key/);
  bad({ ...base, relayPublicKeyPem: undefined }, /relayPublicKeyPem: missing/);
  bad({ ...base, backoff: { minDelayMs: 100, maxDelayMs: 10 } }, /backoff\.maxDelayMs/);
  bad({ ...base, maxForwardsPerSession: 0 }, /maxForwardsPerSession/);
  bad({ ...base, typo: 1 }, /typo/);
  bad(
    { ...base, credential: undefined, credentialFile: '/nonexistent/cred' },
    /credentialFile: cannot read \/nonexistent\/cred \(ENOENT\)/,
  );
});

test('environment overrides the file; file/inline pairs are replaced together', () => {
  const env = configFromEnv({
    AIRLOCK_RELAY_URL: 'ws://127.0.0.1:9',
    AIRLOCK_ALLOWED_PORTS: '3389, 8888',
    AIRLOCK_AGENT_CREDENTIAL_FILE: '/run/secret',
  });
  const merged = mergeConfigInput(base, env);
  assert.equal(merged.relayUrl, 'ws://127.0.0.1:9');
  assert.deepEqual(merged.policy, { allowedPorts: [3389, 8888] });
  assert.equal(merged.credentialFile, '/run/secret');
  assert.equal('credential' in merged, false);
});

test('the inline credential is taken out of the environment once read (the _FILE path stays)', () => {
  const env: NodeJS.ProcessEnv = {
    AIRLOCK_AGENT_CREDENTIAL: 'demo-vm.secret',
    AIRLOCK_AGENT_CREDENTIAL_FILE: '/run/secret',
    AIRLOCK_VM_ID: 'demo-vm',
  };
  const out = takeConfigFromEnv(env);
  assert.equal(out.credential, 'demo-vm.secret');
  assert.equal('AIRLOCK_AGENT_CREDENTIAL' in env, false);
  assert.equal(env.AIRLOCK_AGENT_CREDENTIAL_FILE, '/run/secret');
  assert.equal(env.AIRLOCK_VM_ID, 'demo-vm');
});

test('airlock-agent exits non-zero with a one-line message on bad config (no stack trace)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-cfg-'));
  try {
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ ...base, relayUrl: 'http://nope' }));
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('AIRLOCK_')) delete env[k];
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, '--config', file], {
      encoding: 'utf8',
      env,
      timeout: 20000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^airlock-agent: invalid agent configuration: relayUrl: the relay is reached over TLS only/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.doesNotMatch(r.stderr + r.stdout, /secret/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The agent's CLI on env config against `relay`, its stdout and stderr gathered in `output()`. */
async function spawnAgentCli(relay: FakeRelay, dir: string) {
  const { spawn } = await import('node:child_process');
  const keyFile = join(dir, 'relay.pem');
  writeFileSync(keyFile, relay.relayPublicKeyPem);
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      PATH: process.env.PATH,
      AIRLOCK_RELAY_URL: relay.url,
      AIRLOCK_RELAY_PIN: relay.pin,
      AIRLOCK_VM_ID: relay.vmId,
      AIRLOCK_AGENT_CREDENTIAL: relay.credential,
      AIRLOCK_RELAY_PUBLIC_KEY_FILE: keyFile,
      AIRLOCK_ALLOWED_PORTS: '8888',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  return { child, exited, output: () => out };
}

/** The agent's CLI against a fresh fake relay for `run`; relay, child and folder gone after. */
async function withAgentCli(
  run: (relay: FakeRelay, agent: Awaited<ReturnType<typeof spawnAgentCli>>) => Promise<void>,
) {
  const { FakeRelay } = await import('./testing/fake-relay.js');
  const relay = await FakeRelay.start();
  const dir = mkdtempSync(join(tmpdir(), 'agent-run-'));
  const agent = await spawnAgentCli(relay, dir);
  try {
    await run(relay, agent);
  } finally {
    agent.child.kill('SIGKILL'); // nothing left behind if an assertion failed first
    rmSync(dir, { recursive: true, force: true });
    await relay.close();
  }
}

test('airlock-agent runs from env config, registers, and stops cleanly on SIGTERM', () =>
  withAgentCli(async (relay, agent) => {
    await relay.until(() => relay.messages.some((m) => m.type === 'register'), 15000, 'register from the CLI agent');
    agent.child.kill('SIGTERM');
    assert.deepEqual(await agent.exited, { code: 0, signal: null });
    assert.match(agent.output(), /"msg":"agent starting"/);
    assert.match(agent.output(), /"hostKeyFingerprint":"SHA256:/);
    assert.ok(!agent.output().includes(relay.credential), 'the credential is never logged');
  }));

test('airlock-agent stopped the moment it logs that it is starting still stops gracefully (exit 0)', () =>
  withAgentCli(async (_relay, agent) => {
    const deadline = Date.now() + 15_000;
    while (!agent.output().includes('"msg":"agent starting"') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    assert.match(agent.output(), /"msg":"agent starting"/);
    // A supervisor that stops the agent on its first line must not kill it mid-start: before the
    // signal handlers came first, this was a death by SIGTERM (exit code null).
    agent.child.kill('SIGTERM');
    assert.deepEqual(await agent.exited, { code: 0, signal: null });
    assert.match(agent.output(), /"signal":"SIGTERM".*"msg":"stopping"/);
  }));

describe('the state directory written by airlock-agent enroll', () => {
  let dir: string;
  const enrollment = {
    relayUrl: 'https://relay.example.org:7443',
    relayPin: pin,
    vm: 'lab-vm-01',
    credential: 'lab-vm-01.enrolled-secret',
    relaySigningKeyPem: pem,
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    await writeEnrollment(dir, enrollment);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('supplies the relay, pin, VM, credential and relay key', () => {
    const c = resolveAgentConfig({ stateDir: dir }, {});
    assert.equal(c.relayUrl, 'wss://relay.example.org:7443');
    assert.equal(c.relayPin, pin);
    assert.equal(c.vmId, 'lab-vm-01');
    assert.equal(c.credential, 'lab-vm-01.enrolled-secret');
    assert.equal(c.credentialFile, join(dir, STATE_FILES.credential));
    assert.equal(c.relayPublicKey.asymmetricKeyType, 'ed25519');
    assert.equal(c.stateDir, dir);
    assert.equal(resolveAgentConfig({}, { AIRLOCK_AGENT_STATE_DIR: dir }).vmId, 'lab-vm-01');
  });

  test('explicit configuration wins over the state', () => {
    const otherPin = `sha256/${Buffer.alloc(32, 9).toString('base64')}`;
    const c = resolveAgentConfig({ stateDir: dir, relayUrl: 'wss://10.0.0.5:7443', relayPin: otherPin }, {});
    assert.equal(c.relayUrl, 'wss://10.0.0.5:7443');
    assert.equal(c.relayPin, otherPin);
    assert.equal(c.credential, 'lab-vm-01.enrolled-secret');
    assert.throws(
      () => resolveAgentConfig({ stateDir: dir, vmId: 'other-vm' }, {}),
      /vmId: "other-vm" but .* is enrolled for VM "lab-vm-01"/,
    );
  });

  test('an incomplete state is an error, an empty one says how to enroll', () => {
    const partial = mkdtempSync(join(tmpdir(), 'agent-partial-'));
    try {
      writeFileSync(join(partial, STATE_FILES.credential), 'lab-vm-01.x\n', { mode: 0o600 });
      assert.throws(
        () => resolveAgentConfig({ stateDir: partial }, {}),
        /stateDir: state directory .* holds an incomplete enrollment: cannot read .*relay\.json \(ENOENT\)/,
      );
      assert.throws(
        () => resolveAgentConfig({ stateDir: join(partial, 'none') }, {}),
        /relayUrl: missing \(set relayUrl, or enroll the agent: airlock-agent enroll <relay-url> <token>\)/,
      );
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  });

  test('environment: pin, state dir and enrollment token; the token leaves the environment once read', () => {
    const env: NodeJS.ProcessEnv = {
      AIRLOCK_RELAY_PIN: pin,
      AIRLOCK_AGENT_STATE_DIR: '/srv/agent',
      AIRLOCK_AGENT_ENROLLMENT_TOKEN: 'a1.x.y',
    };
    assert.deepEqual(takeConfigFromEnv(env), { relayPin: pin, stateDir: '/srv/agent', enrollmentToken: 'a1.x.y' });
    assert.equal('AIRLOCK_AGENT_ENROLLMENT_TOKEN' in env, false);
    assert.equal(env.AIRLOCK_AGENT_STATE_DIR, '/srv/agent');
  });

  test('default state dir: /var/lib for root, the home folder otherwise, the environment over both', () => {
    assert.equal(defaultStateDir({}, 0), '/var/lib/airlock-agent');
    assert.equal(defaultStateDir({ HOME: '/home/ops' }, 1000), '/home/ops/.airlock-agent');
    assert.equal(defaultStateDir({ AIRLOCK_AGENT_STATE_DIR: '/srv/a', HOME: '/home/ops' }, 0), '/srv/a');
  });
});
