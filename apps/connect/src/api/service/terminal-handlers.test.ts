import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { ok } from '@airlock/shared';
import type { ExitInfo } from '../../core/session/channel-streams.js';
import type { VmSession } from '../../core/session/types.js';
import type { ServiceContext } from './service-context.js';
import { TerminalHandlers } from './terminal-handlers.js';

/** A session whose shell opens at once and ends when the session is closed. */
function fakeSession() {
  let end: (e: ExitInfo) => void = () => {};
  const exit = new Promise<ExitInfo>((r) => (end = r));
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const state = { closed: false };
  const session = {
    sessionId: 'sid-1',
    vm: 'vm-1',
    openShell: async () => ok({ stdin: new PassThrough(), stdout, stderr, exit, resize: () => {} }),
    onConnectionState: () => () => {},
    close: async () => {
      state.closed = true;
      stdout.end();
      stderr.end();
      end({});
    },
  } as unknown as VmSession;
  return { session, state };
}

/** Handlers whose session opens only when the test says so. */
function handlersWithGate() {
  const { session, state } = fakeSession();
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  const ctx = {
    openSession: async () => (await gate, ok(session)),
    events: { emit: () => {} },
  } as unknown as ServiceContext;
  return { handlers: new TerminalHandlers(ctx), open, state };
}

test('a terminal still opening when the person logs out is closed, not kept', async () => {
  const { handlers, open, state } = handlersWithGate();
  const opening = handlers.open({ vm: 'vm-1', cols: 80, rows: 24 });
  await handlers.closeAll(); // login.logout
  open();
  const r = await opening;
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.code, 'logged_out');
    assert.match(r.error.message, /logged out while the terminal to vm-1 was opening; it was closed/);
  }
  assert.equal(state.closed, true, 'its session was closed');
});

test('without a logout meanwhile the terminal opens', async () => {
  const { handlers, open, state } = handlersWithGate();
  const opening = handlers.open({ vm: 'vm-1', cols: 80, rows: 24 });
  open();
  const r = await opening;
  assert.equal(r.ok, true);
  assert.equal(state.closed, false);
  await handlers.closeAll();
  assert.equal(state.closed, true);
});
