import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT } from './errors.js';
import { buildProgram, type Handlers } from './program.js';

function harness() {
  const calls: Array<[string, ...unknown[]]> = [];
  const out: string[] = [];
  const err: string[] = [];
  const handlers: Handlers = {
    enroll: async (url, code, o) => (calls.push(['enroll', url, code, o]), 0),
    login: async (o) => (calls.push(['login', o]), 0),
    logout: async () => (calls.push(['logout']), 0),
    keyShow: async (o) => (calls.push(['keyShow', o]), 0),
    vms: async (o) => (calls.push(['vms', o]), 0),
    shell: async (vm, o) => (calls.push(['shell', vm, o]), 42),
    exec: async (vm, cmd, o) => (calls.push(['exec', vm, cmd, o]), 3),
    forward: async (vm, specs, o) => (calls.push(['forward', vm, specs, o]), 0),
    sftpStdio: async (vm) => (calls.push(['sftpStdio', vm]), 0),
    doctor: async (vm, o) => (calls.push(['doctor', vm, o]), 1),
    supportBundle: async (file, o) => (calls.push(['supportBundle', file, o]), 0),
    ui: async (o) => (calls.push(['ui', o]), 0),
  };
  const { main } = buildProgram(() => handlers, { writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) });
  return { main, calls, out, err };
}

test('commands parse into handler calls; handler exit codes are returned', async () => {
  const h = harness();
  assert.equal(await h.main(['enroll', 'https://relay:7443', 'u1.x.y', '--device-name', 'my laptop', '--remember']), 0);
  assert.equal(await h.main(['enroll', 'https://relay:7443', '--code-file', 'code.txt']), 0);
  assert.equal(await h.main(['login', '--remember']), 0);
  assert.equal(await h.main(['vms', '--json']), 0);
  assert.equal(await h.main(['key', 'show']), 0);
  assert.equal(await h.main(['shell', 'demo-vm']), 42);
  assert.equal(await h.main(['shell', '-t', 'demo-vm']), 42);
  assert.equal(await h.main(['forward', 'demo-vm', '8888', '3389:13389', '--json']), 0);
  assert.equal(await h.main(['sftp-stdio', 'demo-vm']), 0);
  assert.deepEqual(h.calls, [
    ['enroll', 'https://relay:7443', 'u1.x.y', { deviceName: 'my laptop', remember: true }],
    ['enroll', 'https://relay:7443', undefined, { codeFile: 'code.txt' }],
    ['login', { remember: true }],
    ['vms', { json: true }],
    ['keyShow', {}],
    ['shell', 'demo-vm', {}],
    ['shell', 'demo-vm', { tty: true }],
    [
      'forward',
      'demo-vm',
      [
        { remotePort: 8888, localPort: 0 },
        { remotePort: 3389, localPort: 13389 },
      ],
      { json: true },
    ],
    ['sftpStdio', 'demo-vm'],
  ]);
});

test('ui: an optional port and --no-open; a bad port is a usage error', async () => {
  const h = harness();
  assert.equal(await h.main(['ui']), 0);
  assert.equal(await h.main(['ui', '--port', '8765', '--no-open']), 0);
  assert.deepEqual(h.calls, [
    ['ui', { open: true }],
    ['ui', { port: 8765, open: false }],
  ]);
  assert.equal(await h.main(['ui', '--port', '99999']), EXIT.usage);
  assert.match(h.err.join(''), /bad port "99999"/);
});

test('exec takes the command after --: one word is a command line, several an argv quoted for the remote shell', async () => {
  const h = harness();
  assert.equal(await h.main(['exec', 'demo-vm', '--', 'ls', '-la', '/tmp']), 3);
  assert.equal(await h.main(['exec', '-n', 'demo-vm', '--', 'sh', '-c', 'exit 3']), 3);
  assert.equal(await h.main(['exec', 'demo-vm', 'uname', '-a']), 3);
  assert.equal(await h.main(['exec', 'demo-vm', '--', 'ls | wc -l']), 3);
  assert.equal(await h.main(['exec', 'demo-vm', '--', 'echo', "it's", '']), 3);
  assert.deepEqual(h.calls, [
    ['exec', 'demo-vm', 'ls -la /tmp', { stdin: true }],
    ['exec', 'demo-vm', "sh -c 'exit 3'", { stdin: false }],
    ['exec', 'demo-vm', 'uname -a', { stdin: true }],
    ['exec', 'demo-vm', 'ls | wc -l', { stdin: true }],
    ['exec', 'demo-vm', "echo 'it'\\''s' ''", { stdin: true }],
  ]);
});

test('doctor and support-bundle: an optional VM, a checked port, --json; a file and a line count', async () => {
  const h = harness();
  assert.equal(await h.main(['doctor']), 1, "the doctor's own exit code is returned");
  assert.equal(await h.main(['doctor', 'demo-vm', '--port', '8888', '--json']), 1);
  assert.equal(await h.main(['support-bundle']), 0);
  assert.equal(await h.main(['support-bundle', 'ticket.tar.gz', '--lines', '500']), 0);
  assert.deepEqual(h.calls, [
    ['doctor', undefined, {}],
    ['doctor', 'demo-vm', { port: 8888, json: true }],
    ['supportBundle', undefined, { lines: 2000 }],
    ['supportBundle', 'ticket.tar.gz', { lines: 500 }],
  ]);
});

test('usage errors exit 2 with one clear line and call nothing', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['forward', 'demo-vm', '99999'], /airlock: bad forward "99999": remote port must be 1–65535/],
    [['forward', 'demo-vm', '8888:abc'], /local port "abc" is not a number/],
    [['forward', 'demo-vm'], /missing required argument 'forward'/],
    [['shell', 'Demo_VM'], /bad VM name "Demo_VM"/],
    [['exec', 'demo-vm'], /missing required argument 'command'/],
    [['exec', 'demo-vm', '--'], /no command given/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['enroll'], /missing required argument 'relay-url'/],
    [['key', 'generate'], /unknown command 'generate'/],
    [['doctor', 'demo-vm', '--port', '0'], /bad port "0": use 1–65535/],
    [['doctor', 'demo-vm', '--port', 'rdp'], /bad port "rdp"/],
    [['doctor', 'Demo_VM'], /bad VM name "Demo_VM"/],
    [['support-bundle', '--lines', '0'], /bad line count "0"/],
  ];
  for (const [argv, message] of cases) {
    const h = harness();
    assert.equal(await h.main(argv), EXIT.usage, argv.join(' '));
    assert.match(h.err.join(''), message, argv.join(' '));
    assert.deepEqual(h.calls, []);
  }
});

test('--help exits 0', async () => {
  const h = harness();
  assert.equal(await h.main(['--help']), 0);
  assert.match(h.out.join(''), /Usage: airlock/);
});
