// The connection guard's pure parts: which source a socket counts against, and who is dropped past a cap.
import assert from 'node:assert/strict';
import { connectionLimits, sourceOf, SourcePool } from '../../shared/connection-guard.js';
import { LIMITS } from '../../shared/limits.js';

describe('connection guard: sources and eviction', () => {
  it('counts IPv4 per address, IPv4-mapped IPv6 as IPv4, and IPv6 per /64', () => {
    assert.equal(sourceOf('10.1.2.3'), '10.1.2.3');
    assert.equal(sourceOf('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(sourceOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(sourceOf('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(sourceOf('2001:0db8:0001:0002::9'), '2001:db8:1:2::/64');
    assert.equal(sourceOf('::1'), '0:0:0:0::/64');
    assert.equal(sourceOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(sourceOf(undefined), 'unknown');
  });

  it('past the per-source cap, that source loses its oldest; past the global cap, the busiest source does', () => {
    const pool = new SourcePool<string>();
    assert.deepEqual(pool.admit('a', 'a1', 4, 2), []);
    assert.deepEqual(pool.admit('a', 'a2', 4, 2), []);
    assert.deepEqual(pool.admit('a', 'a3', 4, 2), ['a1']);
    assert.deepEqual(pool.admit('b', 'b1', 4, 2), []);
    assert.deepEqual(pool.admit('c', 'c1', 4, 2), []);
    assert.equal(pool.size, 4);
    // Global cap: 'a' holds the most, so its oldest goes, not the newcomer from 'd' nor the single ones.
    assert.deepEqual(pool.admit('d', 'd1', 4, 2), ['a2']);
    assert.equal(pool.count('a'), 1);
    assert.equal(pool.delete('a', 'a3'), true);
    assert.equal(pool.delete('a', 'a3'), false);
    assert.equal(pool.size, 3);
  });

  it('takes its defaults from shared/limits.ts and lets options override them', () => {
    assert.equal(connectionLimits().handshakeTimeoutMs, LIMITS['server.handshake-timeout'].value);
    assert.equal(connectionLimits().maxAnonymousPerSource, LIMITS['server.max-anonymous-connections-per-source'].value);
    assert.equal(connectionLimits({ handshakeTimeoutMs: 5 }).handshakeTimeoutMs, 5);
  });
});
