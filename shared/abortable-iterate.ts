// Reading a body whose next chunk may never come (a stalled or vanished sender): every read loses to an abort.

/**
 * The items of `source`, each read racing `signal`: an abort rejects the pending read at once with `reasonOf(signal)`.
 * Each read has its own abort listener, removed as the read settles. Racing every read against one promise that
 * lives as long as the body would keep every chunk reachable from it until the end: a 260 MB release upload held
 * 260 MB (bench -- install, bigRelease). The source is never closed from here (the HTTP caller still answers on it).
 * Without a signal, the reads are plain.
 */
export async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined, reasonOf: (signal: AbortSignal) => unknown = (s) => s.reason): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  for (let i = 0; i < Number.MAX_SAFE_INTEGER; i++) {
    const next = signal ? await nextOrAbort(it, signal, reasonOf) : await it.next();
    if (next.done) return;
    yield next.value;
  }
}

function nextOrAbort<T>(it: AsyncIterator<T>, signal: AbortSignal, reasonOf: (signal: AbortSignal) => unknown): Promise<IteratorResult<T>> {
  if (signal.aborted) return Promise.reject(reasonOf(signal));
  return new Promise<IteratorResult<T>>((resolve, reject) => {
    const onAbort = (): void => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    it.next().then((r) => {
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    }, (err: unknown) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}
