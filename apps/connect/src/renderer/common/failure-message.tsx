import { useId } from 'react';
import type { ApiFailure } from '../../api/contract/index.js';
import { CopyButton } from './copy-button.js';
import { nextStepText, sentence, withoutLoginAdvice } from './next-step.js';

/**
 * A failure where it happened: what happened, what to do next, and the session id to give
 * helpdesk (copyable). `title` names the action that failed ("Couldn't open a terminal on vm-a").
 */
export function FailureMessage({ failure, title, id }: { failure: ApiFailure; title?: string; id?: string }) {
  const fallbackId = useId();
  const next = nextStepText(failure);
  return (
    <div className="failure" role="alert" id={id ?? fallbackId} data-code={failure.code}>
      {title && <p className="failure-title">{title}</p>}
      <p>{sentence(next ? withoutLoginAdvice(failure) : failure.message)}</p>
      {next && <p className="failure-next">{next}</p>}
      {failure.sessionId && (
        <p className="failure-ref">
          Session id <code>{failure.sessionId}</code> <CopyButton text={failure.sessionId} label="Copy session id" />
        </p>
      )}
    </div>
  );
}
