import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForwardSpecError, parseForwardSpec, parseForwardSpecs } from './forward-spec.js';

test('forward specs: remote port, optional local port', () => {
  assert.deepEqual(parseForwardSpec('8888'), { remotePort: 8888, localPort: 0 });
  assert.deepEqual(parseForwardSpec('8888:9000'), { remotePort: 8888, localPort: 9000 });
  assert.deepEqual(parseForwardSpec('3389:0'), { remotePort: 3389, localPort: 0 });
});

test('bad forward specs say what is wrong', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /expected <remotePort>\[:<localPort>\]/],
    ['abc', /remote port "abc" is not a number/],
    ['0', /remote port must be 1–65535/],
    ['70000', /remote port must be 1–65535/],
    ['8888:', /expected/],
    [':8888', /expected/],
    ['1:2:3', /expected/],
    ['8888:x', /local port "x" is not a number/],
    ['8888:65536', /local port must be 0–65535/],
    ['-1', /not a number/],
    ['88.5', /not a number/],
  ];
  for (const [spec, message] of bad)
    assert.throws(
      () => parseForwardSpec(spec),
      (e: Error) => e instanceof ForwardSpecError && message.test(e.message),
      spec,
    );
  assert.throws(
    () => parseForwardSpecs(['8888:9000', '5901:9000']),
    /local port 9000 is used by more than one forward/,
  );
  assert.deepEqual(parseForwardSpecs(['8888', '8888']).length, 2);
});
