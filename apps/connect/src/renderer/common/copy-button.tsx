import { useState } from 'react';

/** Copies `text`; says "Copied" for a moment (in text, not only an icon). `shown`: its visible word. */
export function CopyButton({ text, label = 'Copy', shown = 'Copy' }: { text: string; label?: string; shown?: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | undefined>();
  const copy = () => {
    void navigator.clipboard.writeText(text).then(
      () => setCopied('yes'),
      () => setCopied('no'),
    );
    setTimeout(() => setCopied(undefined), 2000);
  };
  const visible = copied === 'yes' ? 'Copied' : copied === 'no' ? 'Copy failed: select and copy by hand' : shown;
  // The accessible name holds the visible words too (speech input users say what they see).
  const name = label.toLowerCase().includes(visible.toLowerCase()) ? label : `${label}: ${visible}`;
  return (
    <button type="button" className="link-button" onClick={copy} aria-label={name} title={label}>
      {visible}
    </button>
  );
}
