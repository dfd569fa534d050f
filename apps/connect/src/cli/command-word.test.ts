import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandWord, scriptCommand } from './command-word.js';

test('the command word comes after the global options, with and without their values', () => {
  assert.equal(commandWord(['exec', 'vm', '--', 'true']), 'exec');
  assert.equal(commandWord(['-v', 'shell', 'vm']), 'shell');
  assert.equal(commandWord(['--verbose', '--log-level', 'debug', 'forward', 'vm', '80']), 'forward');
  assert.equal(commandWord(['--log-level=warn', 'vms']), 'vms');
  // A log level named like a command is the option's value.
  assert.equal(commandWord(['--log-level', 'exec', 'login']), 'login');
  assert.equal(commandWord(['-v']), undefined);
  assert.equal(commandWord([]), undefined);
});

test('the session commands run from the cached script; help, other commands and no command do not', () => {
  for (const args of [
    ['exec', 'vm', '--', 'true'],
    ['shell', 'vm'],
    ['-v', 'forward', 'vm', '8888:0'],
    ['sftp-stdio', 'vm'],
    ['vms'],
    ['doctor', 'vm'],
  ])
    assert.equal(
      scriptCommand(args),
      args.find((a) => !a.startsWith('-')),
      args.join(' '),
    );
  for (const args of [[], ['--help'], ['-h'], ['login'], ['ui'], ['enroll', 'https://r', 'u1.x'], ['exec', '--help']])
    assert.equal(scriptCommand(args), undefined, args.join(' '));
  assert.equal(scriptCommand(['shell', 'vm', '-h']), undefined);
});

test("a --help after `--` is the remote command's, not a request for the CLI's help", () => {
  assert.equal(scriptCommand(['exec', 'vm', '--', 'grep', '--help']), 'exec');
  assert.equal(scriptCommand(['exec', 'vm', '--', 'ls', '-h']), 'exec');
});
