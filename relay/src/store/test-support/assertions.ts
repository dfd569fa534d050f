import assert from 'node:assert/strict';
import { StoreError } from '../types.js';

/** For `assert.rejects`: a StoreError with this code (and a message matching `message`). */
export function storeError(code: StoreError['code'], message?: RegExp): (err: unknown) => boolean {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

/** A well-formed sha256 hex of `n`, for secrets the tests never need to know. */
export function fakeSha(n: number): string {
  return n.toString(16).padStart(64, '0');
}
