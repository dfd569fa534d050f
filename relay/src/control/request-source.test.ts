import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalAddress, sourceNetwork } from './request-source.js';

test('per-source limits count an IPv6 host by its /64, and an IPv4 address as itself however it arrives', () => {
  assert.equal(sourceNetwork('203.0.113.7'), '203.0.113.7');
  assert.equal(sourceNetwork('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(sourceNetwork('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(sourceNetwork('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(sourceNetwork('2001:0db8:0001:0002:0:0:0:9'), '2001:db8:1:2::/64', 'leading zeros');
  assert.equal(sourceNetwork('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(sourceNetwork('::1'), '0:0:0:0::/64');
  assert.equal(sourceNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(sourceNetwork('unknown'), 'unknown');
});

test('an address an administrator types is counted as the relay counts the same peer, however it is written', () => {
  const cases: [string, string][] = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:CB00:7107', '203.0.113.7'],
    ['2001:DB8:0:1:0:0:0:7', '2001:db8:0:1::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ];
  for (const [typed, counted] of cases) assert.equal(sourceNetwork(canonicalAddress(typed)), counted, typed);
  assert.equal(sourceNetwork(canonicalAddress('fe80::1%eth0')), sourceNetwork('fe80::1%eth0'));
});
