// untilAborted: every read of a body loses to an abort, and nothing it read stays reachable once consumed.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { untilAborted } from '../../shared/abortable-iterate.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('untilAborted', () => {
  it('yields the source in order and ends with it', async () => {
    const got: number[] = [];
    for await (const n of untilAborted((async function* () { yield* [1, 2, 3]; })(), new AbortController().signal)) got.push(n);
    assert.deepEqual(got, [1, 2, 3]);
  });

  it('rejects a read that never settles as soon as the signal aborts, with the reason given', async () => {
    const ac = new AbortController();
    const stalled: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => undefined) }) };
    const reading = untilAborted(stalled, ac.signal, (s) => new Error(`cut: ${String(s.reason)}`))[Symbol.asyncIterator]().next();
    ac.abort('sender gone');
    await assert.rejects(reading, { message: 'cut: sender gone' });
  });

  it('rejects at once on a signal aborted before the first read, and leaves no listener behind after reads', async () => {
    const ac = new AbortController();
    ac.abort(new Error('already'));
    await assert.rejects(untilAborted((async function* () { yield 1; })(), ac.signal)[Symbol.asyncIterator]().next(), { message: 'already' });
    const live = new AbortController();
    let listeners = 0;
    const add = live.signal.addEventListener.bind(live.signal);
    const remove = live.signal.removeEventListener.bind(live.signal);
    live.signal.addEventListener = ((...a: Parameters<typeof add>) => { listeners++; add(...a); }) as typeof add;
    live.signal.removeEventListener = ((...a: Parameters<typeof remove>) => { listeners--; remove(...a); }) as typeof remove;
    for await (const n of untilAborted((async function* () { yield* [1, 2, 3, 4]; })(), live.signal)) void n;
    assert.equal(listeners, 0, 'each read removes its own listener');
  });

  it('keeps nothing it read reachable while the body goes on (a long upload must not accumulate its chunks)', async () => {
    const refs: WeakRef<object>[] = [];
    const source = (async function* () {
      for (let i = 0; i < 50; i++) {
        const chunk = { bytes: new Uint8Array(64 * 1024) };
        refs.push(new WeakRef(chunk));
        yield chunk;
      }
      await new Promise(() => undefined); // the sender stalls: the body is not over
    })();
    const it = untilAborted(source, new AbortController().signal)[Symbol.asyncIterator]();
    for (let i = 0; i < 50; i++) await it.next();
    // WeakRefs read in the same job keep their targets: collect across a few turns of the event loop.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    assert.ok(alive <= 2, `${alive} of 50 consumed chunks are still reachable`);
  });
});
