import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, Socket, type Server } from 'node:net';
import { userInfo } from 'node:os';
import { after, before, describe, test } from 'node:test';
import {
  ChannelOpenMessage,
  ChannelRequestMessage,
  SessionRequestMessage,
  SshChannelError,
  SshChannelOpenFailureReason,
  type SshChannel,
} from '@microsoft/dev-tunnels-ssh';
import { BULK_WINDOW_BYTES, directTcpipOpen, ptyRequest, subsystemRequest, windowChange } from '@airlock/shared/ssh';
import { createDigestServer, listenOnLoopback, privateTestShell } from '@airlock/shared/testing';
import type { RunningAgent } from './agent.js';
import { FakeRelay } from './testing/fake-relay.js';
import { MAX_PENDING_INPUT_BYTES } from './session-channel.js';
import { MAX_CHANNELS_PER_SESSION } from './channel-admission.js';
import {
  collect,
  connectClient,
  startTestAgent,
  waitForProcessGone,
  withTimeout,
  type TestClient,
  withOnlineAgent,
  execRequest as exec,
} from './testing/harness.js';

function shellRequest(): ChannelRequestMessage {
  const req = new ChannelRequestMessage();
  req.requestType = 'shell';
  req.wantReply = true;
  return req;
}

function directTcpip(host: string, port: number, maxWindowSize?: number) {
  return directTcpipOpen({ host, port, maxWindowSize });
}

describe('channels on an authenticated session', () => {
  let relay: FakeRelay;
  let agent: RunningAgent;
  let c: TestClient;
  let svc: Server;
  let svcPort: number;
  let otherPort: number;
  let other: Server;
  const hangingPort = 1; // the connector below never connects to this one

  before(async () => {
    relay = await FakeRelay.start();
    svc = createDigestServer();
    svcPort = await listenOnLoopback(svc);
    other = createServer((s) => s.end('should not be reachable'));
    otherPort = await listenOnLoopback(other);
    agent = await startTestAgent(
      relay,
      // dash keeps these fast; root's ~/.bashrc on a dev box can take a second (bash sources it
      // when stdin is a socket, as with sshd). bash itself is covered below.
      { policy: { allowedPorts: [svcPort, hangingPort] }, forwardConnectTimeoutMs: 400, shell: '/bin/sh' },
      {
        // A target that never answers the TCP connect (a SYN into the void) for hangingPort.
        connector: (port) =>
          port === hangingPort ? new Socket() : new Socket({ allowHalfOpen: true }).connect(port, '127.0.0.1'),
      },
    );
    await agent.whenOnline();
    c = await connectClient(relay, agent, { ports: [svcPort, otherPort, hangingPort] });
    assert.equal(c.authenticated, true);
  });
  after(async () => {
    await c.close();
    await agent.close();
    await relay.close();
    svc.close();
    other.close();
  });

  async function ptyShell(cols = 80, rows = 24): Promise<{ ch: SshChannel; out: ReturnType<typeof collect> }> {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(ptyRequest({ term: 'xterm-256color', cols, rows })), true);
    assert.equal(await ch.request(shellRequest()), true);
    return { ch, out };
  }

  test('pty shell: command output and exit status', async () => {
    const { ch, out } = await ptyShell();
    await ch.send(Buffer.from('echo h""i-there; exit 3\n'));
    const closed = await withTimeout(out.closed, 10000, 'shell exit');
    assert.match(out.text(), /hi-there/);
    assert.equal(closed.exitStatus, 3);
  });

  test('pty shell: window-change resizes the terminal', async () => {
    const { ch, out } = await ptyShell(80, 24);
    await ch.send(Buffer.from('stty size; '));
    await ch.request(windowChange(132, 43));
    await ch.send(Buffer.from('echo S=$(stty size)=; exit\n'));
    await withTimeout(out.closed, 10000, 'shell exit');
    assert.match(out.text(), /S=43 132=/);
  });

  test('pty shell: the environment is clean (no agent secrets), TERM and HOME are set', async () => {
    process.env.AIRLOCK_TEST_SECRET_IN_AGENT_ENV = 'leak-me';
    try {
      const ch = await c.client.openChannel();
      const out = collect(ch);
      assert.equal(await ch.request(ptyRequest({ term: 'xterm-256color', cols: 80, rows: 24 })), true);
      assert.equal(await ch.request(exec('env; echo END')), true);
      await withTimeout(out.closed, 10000, 'env exit');
      const env = out.text();
      assert.match(env, /TERM=xterm-256color/);
      assert.match(env, new RegExp(`HOME=${userInfo().homedir}`));
      assert.match(env, /AIRLOCK_SESSION_ID=/);
      assert.doesNotMatch(env, /leak-me/);
    } finally {
      delete process.env.AIRLOCK_TEST_SECRET_IN_AGENT_ENV;
    }
  });

  test('exec without pty: stdin EOF ends cat, which echoes the input and exits 0', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(exec('cat')), true);
    await ch.send(Buffer.from('hello through the tunnel\n'));
    await ch.send(Buffer.alloc(0)); // EOF
    const closed = await withTimeout(out.closed, 10000, 'cat exit');
    assert.equal(out.text(), 'hello through the tunnel\n');
    assert.equal(closed.exitStatus, 0);
  });

  test('exec: stderr is separate, exit code propagates, EOF precedes close', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    let eofBeforeClose = false;
    void out.eof.then(() => (eofBeforeClose = !ch.isClosed));
    assert.equal(await ch.request(exec('echo out; echo err >&2; exit 7')), true);
    const closed = await withTimeout(out.closed, 10000, 'exec exit');
    assert.equal(out.text(), 'out\n');
    assert.equal(out.errText(), 'err\n');
    assert.equal(closed.exitStatus, 7);
    assert.equal(eofBeforeClose, true);
  });

  test('exec: a process killed by a signal reports exit-signal', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(exec('kill -TERM $$')), true);
    const closed = await withTimeout(out.closed, 10000, 'exec exit');
    assert.equal(closed.exitSignal, 'TERM');
  });

  test('exec: large output arrives complete and in order (flow control)', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(exec('head -c 5000000 /dev/zero | od -v -A d -t x1 | tail -c 5000000')), true);
    const closed = await withTimeout(out.closed, 20000, 'bulk exec exit');
    assert.equal(closed.exitStatus, 0);
    assert.equal(Buffer.concat(out.stdout).length, 5000000);
  });

  test('window-change while the terminal output window is full does not stall the session', async () => {
    const ch = await c.client.openChannel();
    // Client does not acknowledge output: the agent's send window runs dry.
    const out = collect(ch, { adjust: false });
    assert.equal(await ch.request(ptyRequest({ term: 'xterm', cols: 80, rows: 24 })), true);
    assert.equal(await ch.request(exec('yes 0123456789 | head -c 3000000; sleep 5')), true);
    await withTimeout(
      (async () => {
        const deadline = Date.now() + 20_000;
        while (Buffer.concat(out.stdout).length < 1024 * 1024 - 4096 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
      })(),
      20_500,
      'window filled',
    );
    assert.ok(
      Buffer.concat(out.stdout).length >= 1024 * 1024 - 4096,
      `the output window filled (${Buffer.concat(out.stdout).length} bytes)`,
    );
    await ch.request(windowChange(100, 30));
    // The session must still serve other channels.
    const ch2 = await withTimeout(c.client.openChannel(), 3000, 'open another channel');
    const out2 = collect(ch2);
    assert.equal(await withTimeout(ch2.request(exec('echo alive')), 3000, 'exec on the second channel'), true);
    await withTimeout(out2.closed, 5000, 'second channel exit');
    assert.equal(out2.text(), 'alive\n');
    // Now drain the first channel: everything arrives.
    ch.adjustWindow(Buffer.concat(out.stdout).length);
    await ch.close();
  });

  test('sftp subsystem answers SSH_FXP_INIT with SSH_FXP_VERSION', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(subsystemRequest('sftp')), true);
    const init = Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]); // length 5, INIT, version 3
    await ch.send(init);
    await out.waitFor(/[\s\S]{9}/);
    const reply = Buffer.concat(out.stdout);
    assert.equal(reply[4], 2, 'SSH_FXP_VERSION');
    assert.equal(reply.readUInt32BE(5), 3);
    await ch.send(Buffer.alloc(0));
    const closed = await withTimeout(out.closed, 5000, 'sftp-server exit on EOF');
    assert.equal(closed.exitStatus, 0);
  });

  test('an unknown subsystem and env requests are refused', async () => {
    const ch = await c.client.openChannel();
    collect(ch);
    assert.equal(await ch.request(subsystemRequest('netconf')), false);
    const env = new ChannelRequestMessage();
    env.requestType = 'env';
    env.wantReply = true;
    assert.equal(await ch.request(env), false);
    await ch.close();
  });

  test('direct-tcpip to an allowed port: data both ways with TCP half-close', async () => {
    const ch = await c.client.openChannel(directTcpip('127.0.0.1', svcPort, BULK_WINDOW_BYTES));
    const out = collect(ch);
    const payload = randomBytes(3 * 1024 * 1024 + 7);
    for (let i = 0; i < payload.length; i += 256 * 1024) await ch.send(payload.subarray(i, i + 256 * 1024));
    await ch.send(Buffer.alloc(0)); // half-close: done sending, still waiting for the answer
    await withTimeout(out.eof, 10000, 'reply after half-close');
    assert.equal(out.text(), `${payload.length}:${createHash('sha256').update(payload).digest('hex')}`);
    await withTimeout(out.closed, 5000, 'forward closed');
  });

  test('direct-tcpip via "localhost" works too', async () => {
    const ch = await c.client.openChannel(directTcpip('localhost', svcPort));
    const out = collect(ch);
    await ch.send(Buffer.from('abc'));
    await ch.send(Buffer.alloc(0));
    await withTimeout(out.eof, 5000, 'reply');
    assert.match(out.text(), /^3:/);
  });

  async function refused(host: string, port: number): Promise<SshChannelError> {
    const e = await c.client.openChannel(directTcpip(host, port)).then(
      () => assert.fail('channel should have been refused'),
      (e: unknown) => e,
    );
    assert.ok(e instanceof SshChannelError, String(e));
    return e;
  }

  test('direct-tcpip to a port in the ticket but not in the policy is refused with a message', async () => {
    const e = await refused('127.0.0.1', otherPort);
    assert.match(e.message, new RegExp(`port ${otherPort} is not allowed on this VM`));
  });

  test('direct-tcpip to a port in the policy but not in the ticket is refused', async () => {
    const c2 = await connectClient(relay, agent, { ports: [] });
    try {
      const e = await c2.client.openChannel(directTcpip('127.0.0.1', svcPort)).then(
        () => assert.fail('should be refused'),
        (x: unknown) => x as Error,
      );
      assert.match(e.message, new RegExp(`port ${svcPort} is not allowed for this session`));
    } finally {
      await c2.close();
    }
  });

  test('a refused forward is reported to the relay as channel-refused', async () => {
    const c2 = await connectClient(relay, agent, { ports: [otherPort] });
    try {
      await refusedOn(c2, '127.0.0.1', otherPort);
      const m = await relay.until(
        () => relay.messages.find((x) => x.type === 'channel-refused' && x.sessionId === c2.sid),
        5000,
        'channel-refused',
      );
      assert.deepEqual(m, {
        type: 'channel-refused',
        sessionId: c2.sid,
        channel: 'direct-tcpip',
        target: `127.0.0.1:${otherPort}`,
        reason: `port ${otherPort} is not allowed on this VM`,
      });
    } finally {
      await c2.close();
    }
  });

  test('channel-refused reports are rate limited per session; the rest is counted and summed up', async () => {
    const c2 = await connectClient(relay, agent);
    const attempts = 20;
    try {
      for (let i = 0; i < attempts; i++) await refusedOn(c2, '10.0.0.1', 1000 + i);
    } finally {
      await c2.close();
    }
    const count = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const tally = () => {
      const mine = relay.messages.flatMap((x) => (x.type === 'channel-refused' && x.sessionId === c2.sid ? [x] : []));
      const reports = mine.filter((x) => x.channel !== 'summary');
      const announced = reports.reduce((n, r) => n + count(r.reason, /\(\+(\d+) earlier/), 0);
      const summed = mine.reduce((n, r) => n + (r.channel === 'summary' ? count(r.reason, /^(\d+) further/) : 0), 0);
      return { reports: reports.length, total: reports.length + announced + summed };
    };
    // Every refusal is accounted for: reported, announced in a later report, or in the summary
    // sent when the session ended.
    await relay.until(() => tally().total === attempts, 5000, `all ${attempts} refusals accounted for`);
    assert.ok(tally().reports < attempts, `${tally().reports} reports for ${attempts} refusals`);
  });

  async function refusedOn(client: TestClient, host: string, port: number): Promise<void> {
    await client.client.openChannel(directTcpip(host, port)).then(
      () => assert.fail('channel should have been refused'),
      (e: unknown) => assert.ok(e instanceof SshChannelError, String(e)),
    );
  }

  test('direct-tcpip to a non-loopback host is refused', async () => {
    const e = await refused('10.1.2.3', svcPort);
    assert.match(e.message, /host 10\.1\.2\.3 is not allowed/);
  });

  test('a malformed direct-tcpip open (no host or port) is refused, and the session carries on', async () => {
    const bare = new ChannelOpenMessage();
    bare.channelType = 'direct-tcpip'; // nothing after the common fields: parsing it fails
    const e = await c.client.openChannel(bare).then(
      () => assert.fail('a channel the agent could not parse must not be accepted'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof SshChannelError, String(e));
    assert.equal(e.reason, SshChannelOpenFailureReason.administrativelyProhibited);
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(exec('echo still-here')), true);
    await withTimeout(out.closed, 5000, 'exec after the refusal');
    assert.equal(out.text(), 'still-here\n');
  });

  test('a session holds at most MAX_CHANNELS_PER_SESSION open session channels', async () => {
    const c2 = await connectClient(relay, agent, { ports: [svcPort] });
    try {
      const open: SshChannel[] = [];
      for (let i = 0; i < MAX_CHANNELS_PER_SESSION; i++) open.push(await c2.client.openChannel());
      const e = await c2.client.openChannel().then(
        () => assert.fail('one channel too many was accepted'),
        (x: unknown) => x,
      );
      assert.ok(e instanceof SshChannelError, String(e));
      assert.equal(e.reason, SshChannelOpenFailureReason.resourceShortage);
      assert.match(e.message, /too many open session channels .* \(limit 32\)/);
      // Forwards have a limit of their own (forwards.test.ts): one still opens.
      const fwd = await c2.client.openChannel(directTcpip('127.0.0.1', svcPort));
      await fwd.close();
      // A closed channel frees its place.
      const closed = collect(open[0]!).closed;
      await open[0]!.close();
      await closed;
      const again = await withTimeout(c2.client.openChannel(), 3000, 'open after a close');
      const out = collect(again);
      assert.equal(await again.request(exec('echo ok')), true);
      await withTimeout(out.closed, 5000, 'exec');
      assert.equal(out.text(), 'ok\n');
    } finally {
      await c2.close();
    }
  });

  test('input beyond the cap before any process started closes the channel with a message', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let sent = 0; sent <= MAX_PENDING_INPUT_BYTES; sent += chunk.length) await ch.send(chunk);
    await withTimeout(out.closed, 5000, 'channel closed by the agent');
    assert.match(out.errText(), /more than 1048576 bytes of input before a process started/);
  });

  test('exec: a background job is killed when the channel closes, though the shell exited', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(exec('sleep 37 & echo started $! $$')), true);
    const [, job, shell] = /started (\d+) (\d+)/.exec(await out.waitFor(/started \d+ \d+\n/))!;
    const pid = Number(job);
    try {
      // The path this test names: the shell is gone, only its job (holding the pipes) is left.
      await waitForProcessGone(Number(shell), 3000);
      await ch.close();
      await waitForProcessGone(pid, 3000);
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });

  test('exec: a nohup-style job that ignores SIGHUP survives the channel, as under OpenSSH; the pipes are released', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(exec("trap '' HUP; sleep 38 >/dev/null 2>&1 & echo started $!")), true);
    const pid = Number(/started (\d+)/.exec(await out.waitFor(/started \d+\n/))![1]);
    try {
      await withTimeout(out.closed, 5000, 'the shell exits; its job no longer holds the pipes');
      // Past the agent's SIGKILL grace period (2 s): that SIGKILL is for the shell alone, so nothing
      // should end the job however long this waits; the wait only gives a wrong kill its chance.
      await new Promise((r) => setTimeout(r, 2500));
      assert.doesNotThrow(() => process.kill(pid, 0), 'the job that ignores SIGHUP is still running');
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  test('reverse forwarding (tcpip-forward) is refused', async () => {
    const m = new SessionRequestMessage('tcpip-forward', true);
    assert.equal(await c.client.request(m), false);
  });

  test('a forward target that never answers is closed after the timeout; the terminal keeps echoing', async () => {
    const { ch: sh, out } = await ptyShell();
    await sh.send(Buffer.from('stty -echo; echo READY\n'));
    await out.waitFor('READY');
    const t0 = Date.now();
    const fwd = await withTimeout(
      c.client.openChannel(directTcpip('127.0.0.1', hangingPort)),
      1000,
      'accepted at once',
    );
    assert.ok(Date.now() - t0 < 300, 'channel open is answered without waiting for the connect');
    const fwdClosed = collect(fwd).closed;
    // While the connect hangs, the shell on the same session answers promptly.
    const e0 = Date.now();
    await sh.send(Buffer.from('echo PING1\n'));
    await out.waitFor('PING1', 1000);
    assert.ok(Date.now() - e0 < 300, `echo took ${Date.now() - e0} ms`);
    const why = await withTimeout(fwdClosed, 2000, 'forward closed after the connect timeout');
    assert.deepEqual(why, { exitStatus: undefined, exitSignal: 'connect-failed@airlock', errorMessage: 'ETIMEDOUT' });
    const waited = Date.now() - t0;
    assert.ok(waited >= 350 && waited < 1500, `closed after ${waited} ms`);
    await sh.send(Buffer.from('exit 0\n'));
    await withTimeout(out.closed, 5000, 'shell exit');
  });
});

describe('agent configuration edges', () => {
  test('pty shell with bash (the default shell)', async () => {
    await withOnlineAgent({ shell: privateTestShell() }, async ({ relay, agent }) => {
      const c = await connectClient(relay, agent);
      try {
        const ch = await c.client.openChannel();
        const out = collect(ch);
        assert.equal(await ch.request(ptyRequest({ term: 'xterm-256color', cols: 90, rows: 30 })), true);
        assert.equal(await ch.request(shellRequest()), true);
        await ch.send(Buffer.from('echo "B=$BASH_VERSION S=$(stty size)"; exit 4\n'));
        const closed = await withTimeout(out.closed, 10000, 'bash exit');
        assert.match(out.text(), /B=\d+\.\S+ S=30 90/);
        assert.equal(closed.exitStatus, 4);
      } finally {
        await c.close();
      }
    });
  });

  test('sftp subsystem with sftp-server missing: refused, said on stderr and reported to the relay', async () => {
    await withOnlineAgent({ sftpServerPath: '/nonexistent/sftp-server' }, async ({ relay, agent }) => {
      const c = await connectClient(relay, agent);
      try {
        const ch = await c.client.openChannel();
        const out = collect(ch);
        assert.equal(await ch.request(subsystemRequest('sftp')), false);
        await withTimeout(out.closed, 5000, 'channel closed');
        assert.match(
          out.errText(),
          /^airlock-agent: no sftp-server on this VM \(looked for \/nonexistent\/sftp-server; install openssh-sftp-server or set sftpServerPath\)$/m,
        );
        const report = await relay.until(
          () => relay.messages.find((m) => m.type === 'channel-refused' && m.sessionId === c.sid),
          5000,
          'channel-refused for sftp',
        );
        assert.deepEqual(report, {
          type: 'channel-refused',
          sessionId: c.sid,
          channel: 'session',
          target: 'subsystem "sftp"',
          reason: 'no sftp-server on this VM (looked for /nonexistent/sftp-server)',
        });
      } finally {
        await c.close();
      }
    });
  });

  test('osUser: processes run as that user with its own groups only', { skip: process.getuid?.() !== 0 }, async () => {
    await withOnlineAgent({ osUser: 'nobody', shell: '/bin/sh' }, async ({ relay, agent }) => {
      const c = await connectClient(relay, agent);
      try {
        for (const withPty of [false, true]) {
          const ch = await c.client.openChannel();
          const out = collect(ch);
          if (withPty) assert.equal(await ch.request(ptyRequest({ term: 'xterm', cols: 80, rows: 24 })), true);
          assert.equal(await ch.request(exec('echo U=$(id -u) G=$(id -G) H=$HOME')), true);
          await withTimeout(out.closed, 5000, 'id exit');
          const m = /U=(\d+) G=([\d ]+) H=(\S+)/.exec(out.text());
          assert.ok(m, out.text());
          assert.equal(m[1], '65534');
          assert.ok(!m[2]!.split(' ').includes('0'), `no root group (pty=${withPty}): ${m[2]}`);
        }
      } finally {
        await c.close();
      }
    });
  });
});
