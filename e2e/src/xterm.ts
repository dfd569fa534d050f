import type { Locator, Page } from 'playwright-core';
import { screenshot } from './browser.js';

/** The active terminal tab's panel. */
export function activeTerminal(page: Page): Locator {
  return page.locator('[role=tabpanel]:not([hidden]) [data-testid=terminal]');
}

/** The rows xterm has drawn for the active terminal (its buffer as shown). */
export async function terminalText(page: Page): Promise<string> {
  return (await activeTerminal(page).locator('.xterm-rows').innerText()).replace(/\u00a0/g, ' ');
}

/** Waits until the active terminal shows text matching `re`. */
export async function waitForTerminal(page: Page, re: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await terminalText(page);
    if (re.test(text)) return text;
    if (Date.now() > deadline) {
      const shot = await screenshot(page, 'failure-terminal');
      throw new Error(`the terminal never showed ${re}; it shows (see ${shot}):\n${text}`);
    }
    await page.waitForTimeout(100);
  }
}

/** Types into the active terminal as a person does (xterm's hidden textarea has the focus). */
export async function typeInTerminal(page: Page, text: string): Promise<void> {
  await activeTerminal(page).locator('.xterm-helper-textarea').focus();
  await page.keyboard.type(text);
}

/** Presses Tab until `target` has the focus (at most `max` times): proves it is reachable by keyboard. */
export async function tabTo(page: Page, target: Locator, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === el.ownerDocument.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${target.toString()}`);
}

/** Waits until `target` has the focus. */
export async function waitForFocus(target: Locator, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await target.evaluate((el) => el === el.ownerDocument.activeElement))) {
    if (Date.now() > deadline) throw new Error(`${target.toString()} never got the focus`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the terminal box's `data-size` (cols x rows, set when it refits) is no longer `before`. */
export async function waitForRefit(box: Locator, before: string | null, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await box.getAttribute('data-size')) === before) {
    if (Date.now() > deadline) throw new Error(`the terminal never refitted (still ${before})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
