// The tests' own helpers: the bounded polling wait and the loopback port pick.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from './ports.js';
import { pollUntil } from './wait.js';

describe('test helpers', () => {
  it('pollUntil returns the first value, and is bounded in time with the awaited thing named', async () => {
    let n = 0;
    assert.equal(await pollUntil('third call', () => (++n === 3 ? 'x' : undefined), { everyMs: 1 }), 'x');
    const t0 = performance.now();
    await assert.rejects(pollUntil('never', () => undefined, { timeoutMs: 60, everyMs: 10 }), /timed out after 60 ms waiting for never/);
    assert.ok(performance.now() - t0 < 2_000);
  });

  it('pollUntil ends on an error unless told to retry, then names the last one', async () => {
    await assert.rejects(pollUntil('x', () => { throw new Error('boom'); }, { everyMs: 1 }), /^Error: boom$/);
    await assert.rejects(pollUntil('y', () => { throw new Error('still down'); }, { timeoutMs: 30, everyMs: 5, retryErrors: true }), /waiting for y: still down/);
  });

  it('freePort gives a bindable loopback port below the ephemeral range', async () => {
    const port = await freePort();
    const lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    assert.ok(port > 1024 && port < lo, `${port} is below ${lo}`);
    const s = createServer();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((r) => s.close(r));
  });

  it('freePort never hands out a port twice, although nothing binds them (an agent binds its port late)', async () => {
    const ports = [];
    for (let i = 0; i < 300; i++) ports.push(await freePort());
    assert.equal(new Set(ports).size, ports.length);
  });
});
