const SAFE = /^[A-Za-z0-9_\-+=.,/:@%^]+$/;

/** Quotes one word for a POSIX shell (the agent runs exec commands with `$SHELL -c`). */
export function shellQuote(word: string): string {
  if (SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line `airlock exec` sends. One word is taken as a shell command line as is
 * (`airlock exec vm -- 'ls | wc -l'`); several words are an argv, each quoted, so
 * `airlock exec vm -- sh -c 'echo a; exit 3'` runs exactly that argv remotely.
 */
export function execCommandLine(words: string[]): string {
  if (words.length === 1) return words[0]!;
  return words.map(shellQuote).join(' ');
}
