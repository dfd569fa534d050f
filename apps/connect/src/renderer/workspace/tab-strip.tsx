import type { KeyboardEvent } from 'react';

export interface TabItem {
  key: string;
  label: string;
  /** Shown before the label, in text too (never colour alone). */
  status?: 'connecting' | 'open' | 'reconnecting' | 'ended';
  closable: boolean;
}

const STATUS_TEXT = { connecting: 'connecting', open: 'connected', reconnecting: 'resuming', ended: 'ended' } as const;
const STATUS_DOT = { connecting: 'offline', open: 'online', reconnecting: 'resuming', ended: 'offline' } as const;

/** The tab strip (ARIA tablist: arrows move between tabs, each panel is `panel-<key>`). */
export function TabStrip({
  tabs,
  active,
  onSelect,
  onClose,
}: {
  tabs: TabItem[];
  active: string;
  onSelect: (key: string) => void;
  onClose: (key: string) => void;
}) {
  const move = (e: KeyboardEvent, index: number) => {
    const to =
      e.key === 'ArrowRight'
        ? (index + 1) % tabs.length
        : e.key === 'ArrowLeft'
          ? (index - 1 + tabs.length) % tabs.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? tabs.length - 1
              : undefined;
    if (to === undefined) return;
    e.preventDefault();
    onSelect(tabs[to]!.key);
    document.getElementById(`tab-${tabs[to]!.key}`)?.focus();
  };
  return (
    <div className="tab-strip" role="tablist" aria-label="Open documents">
      {tabs.map((t, i) => (
        <button
          key={t.key}
          type="button"
          role="tab"
          id={`tab-${t.key}`}
          className={t.key === active ? 'tab active' : 'tab'}
          aria-selected={t.key === active}
          aria-controls={`panel-${t.key}`}
          tabIndex={t.key === active ? 0 : -1}
          onClick={() => onSelect(t.key)}
          onKeyDown={(e) => {
            if (t.closable && e.key === 'Delete') onClose(t.key);
            else move(e, i);
          }}
          title={[i < 9 ? `${t.label} (Alt+${i + 1})` : t.label, t.closable ? 'Close: Ctrl+Shift+W or Delete' : '']
            .filter(Boolean)
            .join(' · ')}
        >
          {t.status && (
            <>
              <span className={`dot ${STATUS_DOT[t.status]}`} aria-hidden="true" />
              <span className="visually-hidden">{STATUS_TEXT[t.status]}: </span>
            </>
          )}
          {t.label}
          {t.closable && (
            // For the mouse; the keyboard closes a tab with Delete or Ctrl+Shift+W (a button
            // inside a tab is not allowed in a tablist).
            <span
              className="tab-close"
              aria-hidden="true"
              onClick={(e) => {
                e.stopPropagation();
                onClose(t.key);
              }}
            >
              ×
            </span>
          )}
        </button>
      ))}
    </div>
  );
}
