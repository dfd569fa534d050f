/**
 * Text from the far side (a relay's error message, a close reason, an agent's explanation) made
 * safe to print on one line of a person's terminal: control characters (C0, DEL, C1 — which carry
 * escape sequences that set a window title, clear the screen, fake colours or write the clipboard)
 * and the bidirectional overrides that make text read other than it is are dropped, whitespace
 * runs become one space, and the length is bounded (`max` characters, the last an ellipsis).
 */
export function printableText(text: string, max = 300): string {
  // Cut first, with room for what is dropped below: a 15 MiB message must not become a
  // 15-million-entry array. A text cut here ends in the ellipsis whatever is left of it.
  const head = text.slice(0, 4 * max + 64);
  const line = head
    .replace(/[\t\n\v\f\r]+/g, ' ')
    .replace(/\p{Cc}|[\u202a-\u202e\u2066-\u2069]/gu, '')
    .replace(/ {2,}/g, ' ')
    .trim();
  const chars = [...line];
  return chars.length > max || head.length < text.length ? `${chars.slice(0, max - 1).join('')}…` : line;
}
