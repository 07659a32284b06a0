// Read a server-sent event stream in tests: frames as they come, awaited (bounded), never slept for.
import { request, type Dispatcher } from 'undici';

export interface SseFrame {
  id: string | undefined;
  data: string | undefined;
  comment: string | undefined;
}

export interface SseReader {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  frames: SseFrame[];
  /** Resolve when `pred` holds for the frames seen so far (or reject after timeoutMs). */
  until(what: string, pred: (frames: SseFrame[]) => boolean, timeoutMs?: number): Promise<SseFrame[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Parse complete frames out of `buffer`; returns them and what is left. */
export function parseSseFrames(buffer: string): { frames: SseFrame[]; rest: string } {
  const frames: SseFrame[] = [];
  let rest = buffer;
  for (let i = rest.indexOf('\n\n'); i >= 0; i = rest.indexOf('\n\n')) {
    const block = rest.slice(0, i);
    rest = rest.slice(i + 2);
    const f: SseFrame = { id: undefined, data: undefined, comment: undefined };
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) f.comment = line.slice(1).trim();
      else if (line.startsWith('id: ')) f.id = line.slice(4);
      else if (line.startsWith('data: ')) f.data = (f.data === undefined ? '' : `${f.data}\n`) + line.slice(6);
    }
    frames.push(f);
  }
  return { frames, rest };
}

export async function openSse(url: string, dispatcher: Dispatcher, headers: Record<string, string> = {}): Promise<SseReader> {
  const ac = new AbortController();
  const res = await request(url, { dispatcher, headers, signal: ac.signal });
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  res.body.setEncoding('utf8');
  res.body.on('data', (chunk: string) => {
    const parsed = parseSseFrames(buffer + chunk);
    buffer = parsed.rest;
    frames.push(...parsed.frames);
    for (const w of [...waiters]) w();
  });
  const ended = new Promise<void>((resolve) => {
    res.body.on('end', resolve);
    res.body.on('error', () => resolve());
    res.body.on('close', () => resolve());
  });
  void ended.then(() => {
    for (const w of [...waiters]) w();
  });
  let done = false;
  void ended.then(() => (done = true));
  return {
    status: res.statusCode,
    headers: res.headers,
    frames,
    ended,
    until(what, pred, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pred(frames)) {
            cleanup();
            resolve(frames);
          } else if (done) {
            cleanup();
            reject(new Error(`stream ended before ${what}; frames: ${JSON.stringify(frames)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames)}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      ac.abort();
      res.body.destroy();
    },
  };
}
