import { randomUUID } from 'node:crypto';
import { openTerminal, type Terminal, type TerminalEnd } from '../../core/session/terminal.js';
import type { ApiParams, ApiResponse, ApiResult, TerminalEndView } from '../contract/index.js';
import { done, failed, failedWith, failure, failureOf, unknownHandle } from './failures.js';
import type { ServiceContext } from './service-context.js';

export function terminalEndView(end: TerminalEnd): TerminalEndView {
  switch (end.kind) {
    case 'exited':
    case 'signal':
    case 'closed':
      return end;
    case 'session_lost':
    case 'revoked':
      return { kind: end.kind, failure: failureOf(end.error) };
  }
}

/**
 * Terminal tabs: each its own session to the VM (a tab that breaks takes no other with it, and
 * each has a session id helpdesk can follow). Output and the end are events.
 */
export class TerminalHandlers {
  private readonly terminals = new Map<string, Terminal>();
  /** Moves on at every closeAll (a logout): a terminal still opening then is closed, not kept. */
  private generation = 0;

  constructor(private readonly ctx: ServiceContext) {}

  async open(p: ApiParams<'terminal.open'>): Promise<ApiResponse<ApiResult<'terminal.open'>>> {
    const generation = this.generation;
    const session = await this.ctx.openSession(p.vm);
    if (!session.ok) return failedWith(session.error);
    const opened = await openTerminal(session.value, { cols: p.cols, rows: p.rows });
    if (!opened.ok) return failedWith(opened.error);
    const terminal = opened.value;
    // Logged out while it opened: a shell left running with nobody logged in is access the person
    // thinks they gave up.
    if (generation !== this.generation) {
      await terminal.close();
      return failed(failure('logged_out', `logged out while the terminal to ${p.vm} was opening; it was closed`));
    }
    const terminalId = `term-${randomUUID()}`;
    this.terminals.set(terminalId, terminal);
    terminal.onOutput((data) => this.ctx.events.emit({ type: 'terminal.output', terminalId, data }));
    const unwatch = session.value.onConnectionState((connection) =>
      this.ctx.events.emit({ type: 'terminal.connection', terminalId, connection }),
    );
    void terminal.ended.then((end) => {
      unwatch();
      this.terminals.delete(terminalId);
      this.ctx.events.emit({ type: 'terminal.ended', terminalId, end: terminalEndView(end) });
    });
    return done({ terminalId, vm: terminal.vm, sessionId: terminal.sessionId });
  }

  private with(id: string, fn: (t: Terminal) => void): ApiResponse<Record<string, never>> {
    const t = this.terminals.get(id);
    if (!t) return unknownHandle('terminal', id);
    fn(t);
    return done({});
  }

  async input(p: ApiParams<'terminal.input'>): Promise<ApiResponse<ApiResult<'terminal.input'>>> {
    return this.with(p.terminalId, (t) => t.write(p.data));
  }

  async resize(p: ApiParams<'terminal.resize'>): Promise<ApiResponse<ApiResult<'terminal.resize'>>> {
    return this.with(p.terminalId, (t) => t.resize(p.cols, p.rows));
  }

  async ack(p: ApiParams<'terminal.ack'>): Promise<ApiResponse<ApiResult<'terminal.ack'>>> {
    return this.with(p.terminalId, (t) => t.acknowledge(p.bytes));
  }

  async close(p: ApiParams<'terminal.close'>): Promise<ApiResponse<ApiResult<'terminal.close'>>> {
    const t = this.terminals.get(p.terminalId);
    if (!t) return unknownHandle('terminal', p.terminalId);
    await t.close();
    return done({});
  }

  async closeAll(): Promise<void> {
    this.generation++;
    await Promise.all([...this.terminals.values()].map((t) => t.close()));
  }
}
