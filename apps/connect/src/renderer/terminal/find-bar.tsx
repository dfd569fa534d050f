import { useEffect, useRef, useState } from 'react';
import type { SearchAddon } from '@xterm/addon-search';

const DECORATIONS = {
  matchBackground: '#6b5900',
  matchOverviewRuler: '#d4b000',
  activeMatchBackground: '#a34700',
  activeMatchColorOverviewRuler: '#ff7a1a',
};

/** Find in the scrollback: "n of N", Enter / Shift+Enter for next / previous, Esc closes. */
export function FindBar({ search, onClose }: { search: SearchAddon; onClose: () => void }) {
  const [text, setText] = useState('');
  const [result, setResult] = useState<{ index: number; count: number } | undefined>();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    const sub = search.onDidChangeResults((r) => setResult({ index: r.resultIndex, count: r.resultCount }));
    return () => {
      sub.dispose();
      search.clearDecorations();
    };
  }, [search]);
  const find = (backwards: boolean, value = text) => {
    if (!value) return setResult(undefined);
    const options = { decorations: DECORATIONS, incremental: false };
    if (backwards) search.findPrevious(value, options);
    else search.findNext(value, options);
  };
  const status = !text
    ? ''
    : !result || result.count === 0
      ? 'No matches'
      : result.index < 0
        ? `${result.count}+ matches`
        : `${result.index + 1} of ${result.count}`;
  return (
    <div className="find-bar" role="search">
      <label htmlFor="find-input" className="visually-hidden">
        Find in terminal
      </label>
      <input
        id="find-input"
        ref={input}
        placeholder="Find"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          find(false, e.target.value);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            find(e.shiftKey);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            onClose();
          }
        }}
      />
      <span className="find-count" role="status" data-testid="find-count">
        {status}
      </span>
      <button type="button" className="secondary" onClick={() => find(true)} aria-label="Previous match (Shift+Enter)">
        ↑
      </button>
      <button type="button" className="secondary" onClick={() => find(false)} aria-label="Next match (Enter)">
        ↓
      </button>
      <button type="button" className="secondary" onClick={onClose} aria-label="Close find (Esc)">
        ×
      </button>
    </div>
  );
}
