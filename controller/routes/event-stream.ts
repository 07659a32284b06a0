// Server-sent events for rollout progress: one stream per client with resume by Last-Event-ID, a heartbeat, and a
// bounded buffer (a client that does not read is cut, never buffered without limit).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RolloutEvent } from '../../shared/rollout-api.js';

export interface StreamLimits {
  heartbeatMs: number;
  /** Bytes written but not yet taken by the client; past it the client is disconnected. */
  maxBufferedBytes: number;
}

/**
 * One event as SSE text. `id` is what a client sends back as Last-Event-ID; data is one JSON line (JSON.stringify
 * never emits a raw newline, so an event cannot break out of its frame).
 */
export function formatSseEvent(id: string, data: unknown): string {
  return `id: ${id.replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The seq a reconnecting client last saw: the Last-Event-ID header, else ?after=, else 0. Undefined when malformed. */
export function resumeSeq(lastEventId: string | undefined, after: number | undefined): number | undefined {
  if (lastEventId === undefined || lastEventId === '') return after ?? 0;
  // The all-rollouts stream uses ROLLOUT:SEQ ids; a per-rollout stream takes the plain seq.
  const m = /^(?:[^:]{1,64}:)?(\d{1,15})$/.exec(lastEventId.trim());
  return m ? Number(m[1]) : undefined;
}

export type StreamEvent = RolloutEvent & { rollout: string };

/**
 * Take over the reply and keep it open as an event stream. `start(send)` subscribes and replays the backlog; it
 * returns the unsubscribe function, called once when the stream ends for any reason.
 */
export function openEventStream(req: FastifyRequest, reply: FastifyReply, limits: StreamLimits, start: (send: (id: string, data: unknown) => void) => Promise<() => void>, streams: Set<() => void>): void {
  reply.hijack();
  const res = reply.raw;
  let ended = false;
  let unsubscribe: (() => void) | undefined;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    streams.delete(end);
    unsubscribe?.();
    if (!res.destroyed) res.destroy();
  };
  const write = (text: string): void => {
    if (ended) return;
    res.write(text);
    // Node queues what the socket cannot take yet; a client that stops reading would grow this for ever.
    if (res.writableLength > limits.maxBufferedBytes) {
      req.log.warn({ op: 'event-stream', url: req.url, buffered: res.writableLength }, 'event stream client does not read; disconnected');
      end();
    }
  };
  streams.add(end);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise hold events back in their buffers.
    'x-accel-buffering': 'no',
  });
  write(`retry: 2000\n: stream open\n\n`);
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), limits.heartbeatMs);
  heartbeat.unref();
  res.on('close', end);
  res.on('error', end);
  start((id, data) => write(formatSseEvent(id, data))).then((unsub) => {
    if (ended) unsub();
    else unsubscribe = unsub;
  }, (err: unknown) => {
    req.log.error({ err, url: req.url }, 'event stream failed');
    end();
  });
}
