import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { ApiFailure, ForwardView } from '../../api/contract/index.js';
import { useApiEvent } from '../common/use-api-event.js';
import { ForwardsPanel } from '../forwards/forwards-panel.js';
import { SettingsView } from '../settings/settings-view.js';
import type { TerminalController, TerminalPhase } from '../terminal/terminal-controller.js';
import type { TerminalRouter } from '../terminal/terminal-router.js';
import { TerminalView } from '../terminal/terminal-view.js';
import { VmList } from '../vms/vm-list.js';
import type { VmActions } from '../vms/vm-row.js';
import { shortcutAction } from './shortcuts.js';
import { TabStrip, type TabItem } from './tab-strip.js';

interface TerminalTab {
  key: string;
  title: string;
  controller: TerminalController;
}

const FIXED = { vms: 'VMs', forwards: 'Forwards', settings: 'Settings' } as const;

/**
 * xterm is over half of the renderer's code and the first screen (the VM list) needs none of it:
 * it is loaded once the list is shown, or by the first terminal opened before that.
 */
let terminalModule: Promise<{ TerminalController: typeof TerminalController }> | undefined;
const loadTerminals = () => (terminalModule ??= import('../terminal/terminal-controller.js'));
const prepareTerminals = () => requestIdleCallback(() => void loadTerminals());

/** The logged-in app: VMs, forwards, terminal tabs and settings, each a tab; all stay mounted. */
export function Workspace({ router, onLogin }: { router: TerminalRouter; onLogin: () => void }) {
  const [terminals, setTerminals] = useState<TerminalTab[]>([]);
  const [active, setActive] = useState<string>('vms');
  const [findOpen, setFindOpen] = useState<string | undefined>();
  const [forwards, setForwards] = useState<ForwardView[]>([]);
  /** The last connection each forward could not carry (and how many more failed alike). */
  const [connectionFailures, setConnectionFailures] = useState<Record<string, { failure: ApiFailure; more: number }>>(
    {},
  );
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const filterRef = useRef<HTMLInputElement>(null);
  const counter = useRef(0);

  const [forwardsFailure, setForwardsFailure] = useState<{ title: string; failure: ApiFailure } | undefined>();
  useEffect(() => {
    void window.airlock.forwardList({}).then((r) => {
      if (r.ok) setForwards(r.value.forwards);
      else setForwardsFailure({ title: "Couldn't list the forwards", failure: r.error });
    });
  }, []);
  useApiEvent('forward.changed', (e) =>
    setForwards((list) =>
      list.some((f) => f.forwardId === e.forward.forwardId)
        ? list.map((f) => (f.forwardId === e.forward.forwardId ? e.forward : f))
        : [...list, e.forward],
    ),
  );
  useApiEvent('forward.removed', (e) => setForwards((list) => list.filter((f) => f.forwardId !== e.forwardId)));
  useApiEvent('forward.connection-failed', (e) =>
    setConnectionFailures((all) => ({ ...all, [e.forwardId]: { failure: e.failure, more: e.more } })),
  );

  const openTerminal = useCallback(
    (vm: string) => {
      const key = `t${++counter.current}`;
      void loadTerminals().then(({ TerminalController }) => {
        const controller = new TerminalController(vm, router, () => setFindOpen(key));
        controller.onChange(rerender);
        setTerminals((list) => {
          const same = list.filter((t) => t.controller.vm === vm).length;
          return [...list, { key, title: same ? `${vm} (${same + 1})` : vm, controller }];
        });
        setActive(key);
        // Connect once the tab is on screen, so the shell starts at the size it is shown.
        requestAnimationFrame(() => void controller.connect());
      });
    },
    [router],
  );
  const closeTab = useCallback((key: string) => {
    setTerminals((list) => {
      const tab = list.find((t) => t.key === key);
      void tab?.controller.close();
      return list.filter((t) => t.key !== key);
    });
    setActive((a) => (a === key ? 'vms' : a));
  }, []);

  const actions: VmActions = useMemo(
    () => ({
      openTerminal,
      async addForward(vm, remotePort, localPort) {
        const r = await window.airlock.forwardAdd({
          vm,
          remotePort,
          ...(localPort !== undefined ? { localPort } : {}),
        });
        if (!r.ok) return r.error;
        setForwards((list) => (list.some((f) => f.forwardId === r.value.forwardId) ? list : [...list, r.value]));
        setActive('forwards');
        return undefined;
      },
      launchRdp: (vm) => window.airlock.rdpLaunch({ vm }),
    }),
    [openTerminal],
  );

  const tabs: TabItem[] = [
    { key: 'vms', label: FIXED.vms, closable: false },
    {
      key: 'forwards',
      label: forwards.length ? `${FIXED.forwards} (${forwards.length})` : FIXED.forwards,
      closable: false,
    },
    ...terminals.map(
      (t) =>
        ({
          key: t.key,
          label: t.title,
          status: tabStatus(t.controller.phase),
          closable: true,
        }) satisfies TabItem,
    ),
    { key: 'settings', label: FIXED.settings, closable: false },
  ];

  const activeTerminal = terminals.find((t) => t.key === active);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = shortcutAction(e);
      // A modal dialog (the re-login) owns the keyboard: nothing may change behind it.
      if (!action || document.querySelector('dialog:modal')) return;
      e.preventDefault();
      const index = tabs.findIndex((t) => t.key === active);
      if (typeof action === 'object') {
        const to = tabs[action.goTo - 1];
        if (to) setActive(to.key);
      } else if (action === 'new-tab' || action === 'duplicate-tab') {
        if (activeTerminal) openTerminal(activeTerminal.controller.vm);
        else setActive('vms');
      } else if (action === 'close-tab') {
        if (activeTerminal) closeTab(activeTerminal.key);
      } else if (action === 'next-tab') setActive(tabs[(index + 1) % tabs.length]!.key);
      else if (action === 'previous-tab') setActive(tabs[(index - 1 + tabs.length) % tabs.length]!.key);
      else if (action === 'search-vms') {
        setActive('vms');
        setTimeout(() => filterRef.current?.focus());
      } else if (action === 'settings') setActive('settings');
      else if (action === 'leave-terminal') document.getElementById(`tab-${active}`)?.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });
  // A tab closed or switched from the keyboard must not leave the focus in a hidden panel, or
  // nowhere: it goes to the active tab (a terminal panel has already focused its terminal).
  const firstActive = useRef(true);
  useEffect(() => {
    if (firstActive.current) return void (firstActive.current = false);
    const focused = document.activeElement as HTMLElement | null;
    if (!focused || focused === document.body || focused.offsetParent === null)
      document.getElementById(`tab-${active}`)?.focus();
  }, [active]);

  return (
    <>
      <TabStrip tabs={tabs} active={active} onSelect={setActive} onClose={closeTab} />
      <div className="documents">
        <Panel id="vms" active={active}>
          <VmList actions={actions} filterRef={filterRef} onListed={prepareTerminals} onLogin={onLogin} />
        </Panel>
        <Panel id="forwards" active={active}>
          <ForwardsPanel
            forwards={forwards}
            connectionFailures={connectionFailures}
            failure={forwardsFailure}
            onRemove={(forwardId) =>
              void window.airlock.forwardRemove({ forwardId }).then((r) => {
                setForwardsFailure(r.ok ? undefined : { title: "Couldn't stop the forward", failure: r.error });
              })
            }
          />
        </Panel>
        {terminals.map((t) => (
          <Panel key={t.key} id={t.key} active={active} terminal>
            <TerminalView
              controller={t.controller}
              visible={t.key === active}
              findOpen={findOpen === t.key}
              setFindOpen={(open) => setFindOpen(open ? t.key : undefined)}
            />
          </Panel>
        ))}
        <Panel id="settings" active={active}>
          {active === 'settings' && <SettingsView />}
        </Panel>
      </div>
    </>
  );
}

/** What a terminal's tab shows of it: a dropped connection being resumed is not "connected". */
function tabStatus(phase: TerminalPhase): NonNullable<TabItem['status']> {
  if (phase.phase === 'open') return phase.connection?.state === 'reconnecting' ? 'reconnecting' : 'open';
  return phase.phase === 'connecting' ? 'connecting' : 'ended';
}

function Panel({
  id,
  active,
  terminal,
  children,
}: {
  id: string;
  active: string;
  terminal?: boolean;
  children: React.ReactNode;
}) {
  return (
    <div
      role="tabpanel"
      id={`panel-${id}`}
      aria-labelledby={`tab-${id}`}
      hidden={id !== active}
      className={terminal ? 'panel terminal-panel' : 'panel'}
    >
      {children}
    </div>
  );
}
