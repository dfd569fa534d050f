// The programs' wrappers (./airlock, ./airlock-agent, ./airlock-relay → scripts/run-ts.sh) start
// Node the way a packaged install does; this checks which Node flags each one gets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { longRunningNodeFlags, repoRoot } from '../bench/src/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-wrappers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// Loaded before the program's own code: reports the flags Node was started with, then stops.
const probe = join(dir, 'probe.mjs');
writeFileSync(probe, 'process.stdout.write(JSON.stringify(process.execArgv)); process.exit(0);\n');
// The same, reporting which program Node was asked to run.
const argvProbe = join(dir, 'argv-probe.mjs');
writeFileSync(argvProbe, 'process.stdout.write(process.argv[1]); process.exit(0);\n');

function execArgv(command: string, args: string[], env: Record<string, string> = {}): string[] {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env, NODE_OPTIONS: `--import=${probe}` },
  });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

/**
 * Which of the flags file's sets the wrapper started Node with: every line's (a long-running
 * program), or only the lines marked [all] (the CLI's other commands).
 */
function flagSet(wrapper: string, args: string[]): 'long-running' | 'short' {
  const argv = execArgv(join(repoRoot, wrapper), args);
  const long = longRunningNodeFlags();
  const short = longRunningNodeFlags(undefined, undefined, true);
  const startsWith = (flags: string[]) => flags.every((f, i) => argv[i] === f);
  if (startsWith(long)) return 'long-running';
  const longOnly = long.filter((f) => !short.includes(f));
  assert.ok(startsWith(short) && !longOnly.some((f) => argv.includes(f)), `${wrapper}: ${argv.join(' ')}`);
  return 'short';
}

test('the long-running programs start with the Node flags: agent, relay, airlock forward and sftp-stdio', () => {
  // The two sets differ, or the checks below could not tell them apart.
  assert.ok(longRunningNodeFlags().length > longRunningNodeFlags(undefined, undefined, true).length);
  assert.equal(flagSet('airlock-agent', ['--help']), 'long-running');
  assert.equal(flagSet('airlock-relay', ['--help']), 'long-running');
  assert.equal(flagSet('airlock', ['forward', '--help']), 'long-running');
  assert.equal(flagSet('airlock', ['sftp-stdio', '--help']), 'long-running');
  // After the CLI's global options, with and without their values.
  for (const globals of [
    ['-v'],
    ['--verbose'],
    ['--log-level', 'debug'],
    ['--log-level=debug'],
    ['-v', '--log-level', 'warn'],
  ])
    assert.equal(flagSet('airlock', [...globals, 'forward', '--help']), 'long-running', globals.join(' '));
});

test("the CLI's other commands get only the [all] lines: a flag V8 hashes costs every command its start-up", () => {
  const cases = [['--help'], ['exec', '--help'], ['shell', '--help'], ['-v', 'vms', '--help'], ['ui', 'forward']];
  // A log level named like a command is the option's value, not the command.
  cases.push(['--log-level', 'forward', 'vms', '--help']);
  for (const args of cases) assert.equal(flagSet('airlock', args), 'short', args.join(' '));
});

// A copy of run-ts.sh in a repository of its own, with a flags file written by the test: the
// file's reading, and both of the wrapper's ways to start Node (a bundle, or tsx on the source).
function fixtureRepo(name: string, flagsFile: string, withBundle: boolean): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'scripts'), { recursive: true });
  copyFileSync(join(repoRoot, 'scripts', 'run-ts.sh'), join(root, 'scripts', 'run-ts.sh'));
  writeFileSync(join(root, 'scripts', 'long-running-node-flags'), flagsFile);
  mkdirSync(join(root, '.tools', 'dist'), { recursive: true });
  symlinkSync(join(repoRoot, '.tools', 'node22'), join(root, '.tools', 'node22'));
  // Its own node_modules with only tsx in it: the freshness tests write node_modules/.package-lock.json.
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(join(repoRoot, 'node_modules', 'tsx'), join(root, 'node_modules', 'tsx'));
  // Never run: the probe stops Node before the program's code.
  if (withBundle) writeFileSync(join(root, '.tools', 'dist', 'airlock-agent.mjs'), '');
  return root;
}

const flagsFixture = [
  '# a comment',
  '   # an indented comment',
  '',
  '--stack-trace-limit=50 --max-semi-space-size=16\r',
  '  --initial-old-space-size=64  ',
  // For older Nodes only: every Node this runs on (22.12 and later) is older than 999, none than 22.
  '[node<999] --stack-trace-limit=52 --max-semi-space-size=17',
  '  [node<22] --stack-trace-limit=53',
  '[node<9x] --stack-trace-limit=54',
  '[node<+999] --stack-trace-limit=55',
  '[node<999]',
  // Also for the CLI's other commands.
  '[all] --stack-trace-limit=56',
  '  [all] [node<999] --stack-trace-limit=57',
  '[all] [node<22] --stack-trace-limit=58',
  '[all]',
  '[all] # not a flag',
  '--stack-trace-limit=51', // the last line, without a newline
].join('\n');
const fixtureFlags = [
  '--stack-trace-limit=50',
  '--max-semi-space-size=16',
  '--initial-old-space-size=64',
  '--stack-trace-limit=52',
  '--max-semi-space-size=17',
  '--stack-trace-limit=56',
  '--stack-trace-limit=57',
  '--stack-trace-limit=51',
];
const fixtureShortCommandFlags = ['--stack-trace-limit=56', '--stack-trace-limit=57'];

test('the flags file is read the same way by the wrapper and by the bench, through a bundle and through tsx', () => {
  for (const withBundle of [true, false]) {
    const root = fixtureRepo(withBundle ? 'bundled' : 'source', flagsFixture, withBundle);
    assert.deepEqual(longRunningNodeFlags(join(root, 'scripts', 'long-running-node-flags')), fixtureFlags);
    const argv = execArgv(join(root, 'scripts', 'run-ts.sh'), ['apps/agent/src/main.ts', '--help'], {
      AIRLOCK_WRAPPER_NAME: 'airlock-agent',
    });
    assert.deepEqual(
      argv.slice(0, fixtureFlags.length),
      fixtureFlags,
      `${withBundle ? 'bundle' : 'tsx'}: ${argv.join(' ')}`,
    );
    if (!withBundle) assert.ok(argv.includes('--import'), 'tsx loads the source');
    const flagsFile = join(root, 'scripts', 'long-running-node-flags');
    assert.deepEqual(longRunningNodeFlags(flagsFile, undefined, true), fixtureShortCommandFlags);
    const short = execArgv(join(root, 'scripts', 'run-ts.sh'), ['apps/connect/src/cli/main.ts', 'exec', '--help'], {
      AIRLOCK_WRAPPER_NAME: 'airlock',
    });
    assert.deepEqual(short.slice(0, fixtureShortCommandFlags.length), fixtureShortCommandFlags, short.join(' '));
    assert.ok(!short.includes('--stack-trace-limit=50'), short.join(' '));
  }
});

test("a [node<N] line counts only under a Node older than N (the repo's own file: Node 24 refuses the flag)", () => {
  const file = join(dir, 'conditional-flags');
  writeFileSync(file, '--a\n[node<24] --b --c\n[node<23] --d\n');
  assert.deepEqual(longRunningNodeFlags(file, 22), ['--a', '--b', '--c', '--d']);
  assert.deepEqual(longRunningNodeFlags(file, 23), ['--a', '--b', '--c']);
  assert.deepEqual(longRunningNodeFlags(file, 24), ['--a']);
  const repoFile = join(repoRoot, 'scripts', 'long-running-node-flags');
  assert.ok(longRunningNodeFlags(repoFile, 22).includes('--experimental-async-context-frame'));
  assert.ok(!longRunningNodeFlags(repoFile, 24).includes('--experimental-async-context-frame'));
});

test("without the repo's own Node, the system's is taken from 22.12 on, and the [node<24] flag follows its version", () => {
  const root = fixtureRepo(
    'system-node',
    '--stack-trace-limit=50\n[node<24] --experimental-async-context-frame\n',
    true,
  );
  rmSync(join(root, '.tools', 'node22'));
  // A `node` first on PATH that reports the version it is told to and otherwise is this Node.
  const bin = join(root, 'fake-bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'node'),
    `#!/bin/sh\nif [ "$1" = "-p" ]; then echo "$FAKE_NODE_VERSION"; exit 0; fi\nexec "${process.execPath}" "$@"\n`,
    { mode: 0o755 },
  );
  const start = (version: string) =>
    spawnSync(join(root, 'scripts', 'run-ts.sh'), ['apps/agent/src/main.ts', '--help'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        FAKE_NODE_VERSION: version,
        AIRLOCK_WRAPPER_NAME: 'airlock-agent',
        NODE_OPTIONS: `--import=${probe}`,
      },
    });
  for (const old of ['22 11', '20 18', '']) {
    const r = start(old);
    assert.equal(r.status, 255, `${old}: ${r.stdout}`);
    assert.match(r.stderr, /airlock-agent: needs Node\.js 22\.12 or newer; none found/);
  }
  const argv = (version: string) =>
    execArgv(join(root, 'scripts', 'run-ts.sh'), ['apps/agent/src/main.ts', '--help'], {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      FAKE_NODE_VERSION: version,
      AIRLOCK_WRAPPER_NAME: 'airlock-agent',
    });
  assert.deepEqual(argv('22 12'), ['--stack-trace-limit=50', '--experimental-async-context-frame']);
  assert.deepEqual(argv('23 3'), ['--stack-trace-limit=50', '--experimental-async-context-frame']);
  assert.deepEqual(argv('24 0'), ['--stack-trace-limit=50']);
});

test('without the flags file the agent still starts, with no flags', () => {
  const root = fixtureRepo('no-file', '', true);
  rmSync(join(root, 'scripts', 'long-running-node-flags'));
  const argv = execArgv(join(root, 'scripts', 'run-ts.sh'), ['apps/agent/src/main.ts', '--help'], {
    AIRLOCK_WRAPPER_NAME: 'airlock-agent',
  });
  assert.deepEqual(argv, []);
});

/** A fixture repository with a bundle, for the tests of when the wrapper runs it. */
function freshnessFixture(name: string) {
  const root = fixtureRepo(name, '', true);
  const bundle = join(root, '.tools', 'dist', 'airlock-agent.mjs');
  const startsFromSource = () =>
    execArgv(join(root, 'scripts', 'run-ts.sh'), ['apps/agent/src/main.ts', '--help'], {
      AIRLOCK_WRAPPER_NAME: 'airlock-agent',
    }).includes('--import');
  const now = Date.now() / 1000;
  /** Writes an empty file `ageSeconds` old, with its folders. */
  const write = (rel: string, ageSeconds: number) => {
    const file = join(root, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, '');
    utimesSync(file, now - ageSeconds, now - ageSeconds);
  };
  return { root, bundle, startsFromSource, now, write };
}

test('without a list of its inputs, the bundle runs only while no source file, lock file or patch is newer than it', () => {
  const { root, bundle, startsFromSource, now, write: writeFile } = freshnessFixture('fresh');
  const write = (rel: string, ageSeconds: number) => {
    writeFile(rel, ageSeconds);
    // The patches folder itself counts too (a patch removed); a new file in it makes it newer.
    utimesSync(join(root, 'patches'), now - 200, now - 200);
  };
  mkdirSync(join(root, 'patches'));
  utimesSync(bundle, now - 100, now - 100);
  // Older than the bundle, at every depth and in every tree the check covers.
  for (const rel of [
    'shared/src/a.ts',
    'relay/src/deep/er/b.ts',
    'apps/agent/src/c.ts',
    'package-lock.json',
    'patches/p.patch',
  ])
    write(rel, 200);
  write('apps/agent/src/notes.md', 0); // not a source file
  assert.equal(startsFromSource(), false, 'nothing newer: the bundle');
  for (const rel of [
    'org/src/x/y/z/edited.ts',
    'apps/connect/src/edited.ts',
    'node_modules/.package-lock.json',
    'patches/new.patch',
  ]) {
    write(rel, 0);
    assert.equal(startsFromSource(), true, `${rel} is newer: the source`);
    write(rel, 200);
  }
  assert.equal(startsFromSource(), false, 'all older again: the bundle');
});

test("with the build's list of its inputs, only those count: one edited, gone or newer lock or patch runs the source", () => {
  const { root, bundle, startsFromSource, now, write } = freshnessFixture('listed');
  const listed = [
    'apps/agent/src/main.ts',
    'shared/src/deep/er/a.ts',
    'package-lock.json',
    'node_modules/.package-lock.json',
  ];
  for (const rel of listed) write(rel, 200);
  mkdirSync(join(root, 'patches'));
  write('patches/p.patch', 200);
  utimesSync(join(root, 'patches'), now - 200, now - 200);
  writeFileSync(
    join(root, '.tools', 'dist', 'airlock-agent.inputs'),
    [...listed, 'patches', 'patches/p.patch', ''].join('\n'),
  );
  utimesSync(bundle, now - 100, now - 100);
  assert.equal(startsFromSource(), false, 'nothing newer: the bundle');
  // A file the bundle was not made of, however new: still the bundle.
  write('shared/src/unrelated.ts', 0);
  write('relay/src/other.ts', 0);
  assert.equal(startsFromSource(), false, 'an unlisted file is newer: still the bundle');
  for (const rel of [...listed, 'patches/p.patch']) {
    write(rel, 0);
    assert.equal(startsFromSource(), true, `${rel} is newer: the source`);
    write(rel, 200);
  }
  // A patch added (or removed) changes the folder.
  utimesSync(join(root, 'patches'), now, now);
  assert.equal(startsFromSource(), true, 'the patches folder is newer: the source');
  utimesSync(join(root, 'patches'), now - 200, now - 200);
  rmSync(join(root, 'shared/src/deep/er/a.ts'));
  assert.equal(startsFromSource(), true, 'a listed file is gone: the source');
  write('shared/src/deep/er/a.ts', 200);
  assert.equal(startsFromSource(), false, 'all older again: the bundle');
});

test("the build lists each bundle's own inputs: our files and the lock files, no npm package's files", () => {
  const list = readFileSync(join(repoRoot, '.tools', 'dist', 'airlock.inputs'), 'utf8')
    .trim()
    .split('\n');
  assert.ok(list.includes('apps/connect/src/cli/main.ts'), 'the entry');
  assert.ok(list.includes('shared/src/ssh/keys.ts'), 'a shared file the CLI uses');
  assert.ok(!list.some((f) => f.startsWith('relay/')), 'nothing of the relay');
  assert.ok(list.includes('package-lock.json'));
  assert.deepEqual(
    list.filter((f) => f.includes('node_modules')),
    list.includes('node_modules/.package-lock.json') ? ['node_modules/.package-lock.json'] : [],
  );
  for (const f of list) assert.ok(existsSync(join(repoRoot, f)), `${f} exists`);
});

test('the wrappers find the repository however they are called: relative, absolute, through a symlink', () => {
  const linkDir = join(dir, 'links', 'deeper');
  mkdirSync(linkDir, { recursive: true });
  symlinkSync(relative(linkDir, join(repoRoot, 'airlock-agent')), join(linkDir, 'agent'));
  const started = (command: string, cwd: string) => {
    const r = spawnSync(command, ['--help'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: `--import=${argvProbe}` },
    });
    assert.equal(r.status, 0, `${command} in ${cwd}: ${r.stderr}`);
    return r.stdout;
  };
  const program = [
    join(repoRoot, '.tools', 'dist', 'airlock-agent.mjs'),
    join(repoRoot, 'apps', 'agent', 'src', 'main.ts'),
  ];
  for (const [command, cwd] of [
    ['./airlock-agent', repoRoot],
    [join(repoRoot, 'airlock-agent'), dir],
    ['../airlock-agent', join(repoRoot, 'scripts')],
    ['./agent', linkDir],
    [join(linkDir, 'agent'), repoRoot],
  ] as const)
    assert.ok(program.includes(started(command, cwd)), `${command} in ${cwd}`);
});
