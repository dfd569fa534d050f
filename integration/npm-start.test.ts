// `npm start` as a newcomer runs it: the whole system comes up on its embedded defaults (here in
// a demo folder and on ports of its own, so a developer's running demo is left alone), a second
// start on the same folder says one is running, and Ctrl-C stops everything with exit 0.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { endsWithThisProcess, freePort, within } from '@airlock/shared/testing';
import { repoRoot } from '../bench/src/processes.js';

const demo = mkdtempSync(join(tmpdir(), 'airlock-npm-start-'));
after(() => rmSync(demo, { recursive: true, force: true }));

function npmStart(env: NodeJS.ProcessEnv) {
  const { DISPLAY: _display, WAYLAND_DISPLAY: _wayland, ...rest } = process.env;
  const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'run.mjs'), 'start'], {
    cwd: repoRoot,
    // npm test built the bundles before any test ran; rebuilding them here would cut them from
    // under the test files running beside this one.
    env: { ...rest, AIRLOCK_DEMO_DIR: demo, AIRLOCK_SKIP_BUNDLE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // Its own process group (the bootstrap, its runner and the task): all of it ends with this file,
  // also when the test run is stopped from outside.
  endsWithThisProcess(child, { group: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, output: () => out, exited };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

// On macOS there is always a display: the app would open in a real browser.
const skip = process.platform === 'darwin' ? 'opens a browser on macOS' : false;

test(
  'npm start brings up relay, agent, demo app and the app host; a second start says one runs; Ctrl-C stops all, exit 0',
  { skip },
  async () => {
    const [relayPort, appPort] = [await freePort(), await freePort()];
    const env = { AIRLOCK_RELAY_PORT: String(relayPort), AIRLOCK_DEMO_APP_PORT: String(appPort) };
    const first = npmStart(env);
    await within(
      (async () => {
        while (!/^Then:$/m.test(first.output())) {
          if (first.child.exitCode !== null)
            throw new Error(`npm start exited ${first.child.exitCode}:\n${first.output()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      120_000,
      'npm start to print what to do next',
    );
    const out = first.output();
    assert.match(
      out,
      new RegExp(
        `^  relay   https://127\\.0\\.0\\.1:${relayPort}   TLS pin sha256//\\S+   \\(data in ${demo}/relay\\)$`,
        'm',
      ),
    );
    assert.match(out, new RegExp(`^  app     http://127\\.0\\.0\\.1:${appPort} inside the "VM"$`, 'm'));
    assert.match(
      out,
      /^ {2}connect http:\/\/127\.0\.0\.1:\d+\/#secret=\S+$/m,
      'no display: the address is printed, not opened',
    );
    assert.match(out, /^ {2}\.\/airlock enroll https:\/\/127\.0\.0\.1:\d+ u1\.\S+$/m);

    // The agent is enrolled and its link is up, as its own status command reads it.
    const status = spawnSync(
      join(repoRoot, 'airlock-agent'),
      ['status', '--state-dir', join(demo, 'agent'), '--json'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(status.status, 0, status.stderr);
    const report = JSON.parse(status.stdout) as {
      ok: boolean;
      checks: { check: string; ok: boolean; message: string }[];
    };
    assert.equal(report.ok, true, status.stdout);
    assert.match(report.checks.find((c) => c.check === 'enrollment')?.message ?? '', /enrolled for VM "demo-vm"/);
    assert.match(report.checks.find((c) => c.check === 'link')?.message ?? '', /control link to the relay is up/);
    // The demo app answers on the VM's allowed port.
    const page = await fetch(`http://127.0.0.1:${appPort}/`);
    assert.equal(page.status, 200);

    const second = npmStart(env);
    const [secondCode] = await within(second.exited, 120_000, 'the second npm start to stop');
    assert.equal(secondCode, 1, second.output());
    assert.match(second.output(), new RegExp(`npm start: Airlock is already running on ${demo}\\. Use that one`));

    // As a terminal's Ctrl-C: to the whole group, so the task hears it from the terminal and again
    // from the bootstrap — one request, a clean stop.
    process.kill(-first.child.pid!, 'SIGINT');
    const [code] = await within(first.exited, 60_000, 'npm start to stop after Ctrl-C');
    assert.equal(code, 0, first.output());
    assert.match(first.output(), /^stopping… \(Ctrl-C again to stop at once\)$/m);
    assert.equal(await refused(relayPort), true, 'the relay port is closed');
    assert.equal(await refused(appPort), true, 'the demo app is closed');
  },
);
