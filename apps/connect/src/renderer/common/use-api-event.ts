import { useEffect, useRef } from 'react';
import type { ApiEvent } from '../../api/contract/index.js';

type EventOf<T extends ApiEvent['type']> = Extract<ApiEvent, { type: T }>;

/** Calls `handler` with every API event of `type` while the component is mounted. */
export function useApiEvent<T extends ApiEvent['type']>(type: T, handler: (e: EventOf<T>) => void): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(
    () =>
      window.airlock.onEvent((e) => {
        if (e.type === type) latest.current(e as EventOf<T>);
      }),
    [type],
  );
}
