import type { ITheme } from '@xterm/xterm';

/** The terminal's colours from the page's design tokens (light or dark, as the system says). */
export function terminalTheme(): ITheme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return {
    background: v('--terminal-bg'),
    foreground: v('--terminal-fg'),
    cursor: v('--terminal-fg'),
    selectionBackground: v('--selection'),
  };
}
