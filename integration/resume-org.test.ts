// Resume under an organisation root: the agent judges the user's chain again at the resume (as
// for a new session), so the session comes back only for a user and device still certified. Real
// relay, agent and `airlock forward`; Connect's path goes through a proxy that resets it.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { CutProxy, listenOnLoopback, portOf as port, tearDown } from '@airlock/shared/testing';
import { airlockBin, startSystem, type System } from './harness.js';
import { download, downloadServer } from './support/checked-download.js';
import { forwardVia, type ForwardCli } from './support/forward-cli.js';
import { homeVia } from './support/home-via.js';

const DOWNLOAD_BYTES = 48 * 1024 * 1024;
let sys: System;
let connectPath: CutProxy;
let home: string;
let forward: ForwardCli;
const source = downloadServer(DOWNLOAD_BYTES);

before(async () => {
  await listenOnLoopback(source.server);
  sys = await startSystem({ org: true, ports: [port(source.server)] });
  connectPath = await CutProxy.start(sys.relay.port);
  home = homeVia(sys.home, connectPath.port);
  forward = await forwardVia({ airlockBin, vm: sys.vm, cliEnv: sys.cliEnv }, home, [port(source.server)]);
});

after(() =>
  tearDown('resume-org.test.ts', [
    ['airlock forward to stop', () => forward?.stop()],
    ['the cut proxy to close', () => connectPath?.close()],
    ['the relay and the agent to stop', () => sys?.close()],
    ['the source to close', () => source.server.close()],
    ['the home to be removed', () => home && rmSync(home, { recursive: true, force: true })],
  ]),
);

test('Connect’s connection reset mid-download under the organisation root: the chain is judged again and the session resumes whole', async () => {
  let cut = false;
  const result = await download(forward.localPort(port(source.server)), (bytes) => {
    if (cut || bytes < DOWNLOAD_BYTES / 4) return;
    cut = true;
    assert.ok(connectPath.cut() > 0, 'Connect’s connection was cut');
  });
  assert.ok(cut);
  assert.equal(result.end, 'end');
  assert.equal(result.bytes, DOWNLOAD_BYTES);
  assert.equal(result.sha256, await source.sent.at(-1));
  assert.match(forward.stderr(), /resumed after/);
  assert.match(sys.agent.output(), /"audit":"resume-accepted"/);
  assert.doesNotMatch(sys.agent.output(), /user certificate chain refused/);
});
