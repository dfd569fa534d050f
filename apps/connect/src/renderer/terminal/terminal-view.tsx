import { useEffect, useReducer, useRef, useState } from 'react';
import type { TerminalEndView } from '../../api/contract/index.js';
import { CopyButton } from '../common/copy-button.js';
import { FailureMessage } from '../common/failure-message.js';
import { nextStepText, sentence } from '../common/next-step.js';
import type { TerminalController, TerminalPhase } from './terminal-controller.js';
import { FindBar } from './find-bar.js';

/** Resize follows the window, at most every 200 ms. */
const RESIZE_DEBOUNCE_MS = 200;

/** A terminal tab's body: the xterm, a line that says how the session is (or how it ended), find. */
export function TerminalView({
  controller,
  visible,
  findOpen,
  setFindOpen,
}: {
  controller: TerminalController;
  visible: boolean;
  findOpen: boolean;
  setFindOpen: (open: boolean) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => controller.onChange(rerender), [controller]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    if (!controller.term.element) controller.term.open(el);
    else if (controller.term.element.parentElement !== el) el.appendChild(controller.term.element);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const observer = new ResizeObserver(() => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.resize(), RESIZE_DEBOUNCE_MS);
    });
    observer.observe(el);
    return () => {
      clearTimeout(timer);
      observer.disconnect();
    };
  }, [controller]);

  useEffect(() => {
    if (!visible) return;
    controller.resize();
    if (!findOpen) controller.term.focus();
  }, [visible, controller, findOpen]);

  const phase = controller.phase;
  return (
    <div className="terminal-doc">
      <TerminalStatus phase={phase} vm={controller.vm} onReconnect={() => void controller.connect()} />
      {findOpen && (
        <FindBar
          search={controller.search}
          onClose={() => {
            setFindOpen(false);
            controller.term.focus();
          }}
        />
      )}
      <div className="terminal-box" ref={box} data-testid="terminal" data-phase={phase.phase} />
    </div>
  );
}

function TerminalStatus({ phase, vm, onReconnect }: { phase: TerminalPhase; vm: string; onReconnect: () => void }) {
  const [focusReconnect, setFocusReconnect] = useState(false);
  useEffect(() => setFocusReconnect(phase.phase === 'ended'), [phase.phase]);
  switch (phase.phase) {
    case 'connecting':
      return (
        <p className="terminal-status" role="status">
          Connecting to {vm}…
        </p>
      );
    case 'open':
      if (phase.connection?.state === 'reconnecting')
        return (
          <p className="terminal-status reconnecting" role="status" data-testid="terminal-reconnecting">
            <span className="dot resuming" aria-hidden="true" />
            <span className="status-text">
              Connection to {vm} lost — resuming the session (attempt {phase.connection.attempt}).{' '}
              {sentence(phase.connection.reason)} Nothing you typed or the VM sent is lost.
            </span>
          </p>
        );
      return (
        <p className="terminal-status" role="status">
          <span className="dot online" aria-hidden="true" /> Connected to {vm} · session <code>{phase.sessionId}</code>{' '}
          <CopyButton text={phase.sessionId} label="Copy session id" />
          {phase.connection?.state === 'resumed' && (
            <span className="muted" data-testid="terminal-resumed">
              {' '}
              · resumed after {(phase.connection.downMs / 1000).toFixed(1)} s
            </span>
          )}
        </p>
      );
    case 'failed':
      return (
        <div className="terminal-status">
          <FailureMessage failure={phase.failure} title={`Couldn't open a terminal on ${vm}`} />
          <button type="button" onClick={onReconnect}>
            Try again
          </button>
        </div>
      );
    case 'ended':
      // Revoked: a reconnect would only be refused again, so none is offered; what to do instead
      // is said. If access comes back, the VM list offers a new terminal by itself.
      return (
        <div className="terminal-status ended" role="status" data-testid="terminal-ended">
          <span>{endText(phase.end)}</span>{' '}
          {phase.end.kind === 'revoked' && (
            <span data-testid="terminal-next-step">
              {nextStepText(phase.end.failure) ?? 'Ask your admin.'} If your access is given back, open a new terminal
              from VMs.
            </span>
          )}{' '}
          <span className="muted">
            session <code>{phase.sessionId}</code>
          </span>{' '}
          {phase.end.kind !== 'revoked' && (
            <button type="button" onClick={onReconnect} autoFocus={focusReconnect}>
              Reconnect
            </button>
          )}
        </div>
      );
  }
}

export function endText(end: TerminalEndView): string {
  switch (end.kind) {
    case 'exited':
      return `The shell exited with status ${end.exitStatus}.`;
    case 'signal':
      return `The shell was ended by signal ${end.signal}.`;
    case 'closed':
      return 'The terminal was closed.';
    case 'session_lost':
      return `Session lost: ${sentence(end.failure.message)}`;
    case 'revoked':
      return `Access revoked: ${sentence(end.failure.message)}`;
  }
}
