import { useState } from 'react';

/** Copies a value to the clipboard and says so (politely, for screen readers). */
export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <>
      <button type="button" onClick={copy}>
        {label}
      </button>
      <span role="status" className="muted small">
        {state === 'copied' ? ' Copied to the clipboard' : state === 'failed' ? ' Could not copy: select the text and copy it' : ''}
      </span>
    </>
  );
}
