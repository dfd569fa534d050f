import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createRelay, totpCodeAt } from '@airlock/relay';
import { enrollAgent } from '@airlock/agent';
import {
  airlockPaths,
  ConfigStore,
  DeviceEnrollment,
  login,
  parseEnrollmentInput,
  userKeyFromPrivateKey,
} from '@airlock/connect';
import { startChild, waitForOutput, type Child } from './children.js';

/** The relay under fuzz: a real `airlock-relay serve` child on a data dir seeded for every door. */
export interface RelaySystem {
  child: Child;
  url: string;
  pin: string;
  /** The VM whose agent the fuzzer plays (its control link and data sockets). */
  vm: string;
  agentCredential: string;
  user: string;
  /** The user's access token and the client certificate it is bound to. */
  userToken: string;
  userCert: { certPem: string; keyPem: string };
  admin: { clientId: string; clientSecret: string };
  /** Fresh user enrollment codes and agent tokens, for the enrollment endpoints. */
  spareUserCode: string;
  close(): Promise<void>;
}

/** Limits raised so that refusals by rate limit do not hide the parsers behind them. */
const FUZZ_RELAY_CONFIG = {
  unauthenticatedRequestsPerMinute: 1_000_000_000,
  refusedUpgradesPerMinute: 1_000_000_000,
  maxFailuresPerSource: 1_000_000_000,
  loginMaxFailuresPerUser: 1_000_000_000,
  maxPendingSessionsPerUser: 10_000,
  maxPendingSessions: 100_000,
  unpairedTimeoutMs: 2_000,
  agentRegisterTimeoutMs: 2_000,
};

export async function startRelaySystem(): Promise<RelaySystem> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-fuzz-relay-'));
  const dataDir = join(dir, 'relay');
  const vm = 'fuzz-vm';
  const user = 'fuzzer';
  // Seed the data dir with the relay's own admin service, then serve it from a child process.
  const seed = await createRelay({
    config: { host: '127.0.0.1', port: 0, dataDir },
    logger: pino({ level: 'silent' }),
  });
  const pin = seed.tls.pin;
  const must = <T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const createdVm = must(await seed.admin.createVm('fuzz', vm, [8080, 8081]));
  const createdUser = must(await seed.admin.createUser('fuzz', user));
  must(await seed.admin.putGrant('fuzz', { user, vm, ports: [8080] }));
  const spare = must(await seed.admin.createUser('fuzz', 'spare'));
  must(await seed.admin.createVm('fuzz', 'spare-vm', [8080]));
  const client = must(await seed.admin.createClient('fuzz', 'fuzz-admin', ['admin']));
  await seed.close();

  const configFile = join(dir, 'relay.json');
  writeFileSync(configFile, JSON.stringify(FUZZ_RELAY_CONFIG));
  const child = startChild('airlock-relay', [
    '--data-dir',
    dataDir,
    'serve',
    '--port',
    '0',
    '--config',
    configFile,
    '--log-level',
    'warn',
  ]);
  try {
    const [, url] = await waitForOutput(child, /listening on (https:\/\/\S+)/);
    const agent = await enrollAgent({
      relayUrl: url!,
      token: createdVm.agentEnrollment.token,
      stateDir: join(dir, 'agent'),
    });
    if (!agent.ok) throw new Error(agent.error.message);
    const agentCredential = readFileSync(join(dir, 'agent', 'credential'), 'utf8').trim();
    const session = await enrollAndLogin(url!, createdUser.enrollment.code, user, join(dir, 'connect'));
    return {
      child,
      url: url!,
      pin,
      vm,
      agentCredential,
      user,
      userToken: session.accessToken,
      userCert: { certPem: session.clientCertPem, keyPem: session.clientKeyPem },
      admin: { clientId: client.client.clientId, clientSecret: client.clientSecret },
      spareUserCode: spare.enrollment.code,
      async close() {
        await child.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Connect core's own enrollment and login against the child relay (TOTP from the secret it hands out). */
async function enrollAndLogin(url: string, code: string, user: string, home: string) {
  const target = parseEnrollmentInput(url, code);
  if (!target.ok) throw new Error(target.error.message);
  const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const enrollment = new DeviceEnrollment(target.value);
  let deviceId: string;
  const now = Date.now();
  try {
    const begun = await enrollment.begin(privateKey, 'fuzz device');
    if (!begun.ok) throw new Error(begun.error.message);
    const secret = begun.value.totp?.secretBase32;
    if (!secret) throw new Error('no TOTP secret in the enrollment');
    // One step back for enrollment, the current one for the login: each code is single-use.
    const done = await enrollment.complete(begun.value.enrollmentId, privateKey, totpCodeAt(secret, now - 30_000));
    if (!done.ok) throw new Error(done.error.message);
    deviceId = done.value.deviceId;
    const store = new ConfigStore(airlockPaths(home));
    const enrolled = { relayUrl: url, relayPin: target.value.pin, user, deviceId };
    const res = await login({
      enrollment: enrolled,
      key: userKeyFromPrivateKey(privateKey),
      totp: totpCodeAt(secret, now),
      store,
    });
    if (!res.ok) throw new Error(res.error.message);
    return res.value;
  } finally {
    await enrollment.close();
  }
}
