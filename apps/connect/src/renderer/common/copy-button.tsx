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
  return (
    <button type="button" className="link-button" onClick={copy} aria-label={label} title={label}>
      {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Copy failed: select and copy by hand' : shown}
    </button>
  );
}
