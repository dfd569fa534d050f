/**
 * The app's keyboard shortcuts (Windows/Linux; Cmd on macOS). Never plain Ctrl+letter: the shell
 * needs those (Ctrl+W deletes a word). The terminal passes these to the app instead of the shell.
 */
export type ShortcutAction =
  | 'new-tab'
  | 'close-tab'
  | 'duplicate-tab'
  | 'next-tab'
  | 'previous-tab'
  | 'search-vms'
  | 'settings'
  | 'leave-terminal'
  | { goTo: number };

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: 'Ctrl+Shift+T', what: 'New terminal on the same VM' },
  { keys: 'Ctrl+Shift+D', what: 'Duplicate the tab (a new session to the same VM)' },
  { keys: 'Ctrl+Shift+W', what: 'Close the tab' },
  { keys: 'Ctrl+PageDown / Ctrl+PageUp', what: 'Next / previous tab' },
  { keys: 'Alt+1 … Alt+9', what: 'Go to tab 1–9' },
  { keys: 'Ctrl+Shift+K', what: 'Search VMs' },
  { keys: 'Ctrl+,', what: 'Settings' },
  { keys: 'Ctrl+Shift+C / Ctrl+Shift+V', what: 'Copy / paste in the terminal (Ctrl+C stays the shell’s)' },
  { keys: 'Ctrl+Shift+F', what: 'Find in the terminal (Enter / Shift+Enter: next / previous; Esc closes)' },
  { keys: 'Ctrl+Shift+M', what: 'Move focus from the terminal to the tab strip' },
];

export function shortcutAction(e: KeyboardEvent): ShortcutAction | undefined {
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key.toLowerCase();
  if (mod && e.shiftKey && !e.altKey) {
    if (k === 't') return 'new-tab';
    if (k === 'w') return 'close-tab';
    if (k === 'd') return 'duplicate-tab';
    if (k === 'k') return 'search-vms';
    if (k === 'm') return 'leave-terminal';
  }
  if (mod && !e.shiftKey && !e.altKey && e.key === ',') return 'settings';
  if (e.ctrlKey && !e.altKey && (e.key === 'PageDown' || (e.key === 'Tab' && !e.shiftKey))) return 'next-tab';
  if (e.ctrlKey && !e.altKey && (e.key === 'PageUp' || (e.key === 'Tab' && e.shiftKey))) return 'previous-tab';
  if (e.altKey && !e.ctrlKey && !e.metaKey && /^[1-9]$/.test(e.key)) return { goTo: Number(e.key) };
  return undefined;
}

export function isAppShortcut(e: KeyboardEvent): boolean {
  return shortcutAction(e) !== undefined;
}
