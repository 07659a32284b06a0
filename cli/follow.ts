// Follow a rollout to a settled state: its SSE stream (reconnecting with Last-Event-ID, bounded, with backoff, across
// the controller URLs when there are several) for events, and the rollout document re-read after events (coalesced).
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { backoffDelay } from '../shared/backoff.js';
import { pause } from '../shared/clock.js';
import { SwarmError } from '../shared/errors.js';
import { LIMITS } from '../shared/limits.js';
import { describeRemoteFailure } from '../shared/remote-errors.js';
import { RolloutEventSchema, RolloutSchema, type RolloutEvent, type RolloutJson } from '../shared/rollout-api.js';
import { cliError } from './errors.js';
import { SETTLED_ROLLOUT_STATES } from './live-view.js';
import type { Session } from './session.js';

export interface FollowHandlers {
  /** Each event once, in seq order (also those missed while reconnecting). */
  onEvent?(event: RolloutEvent): void;
  /** Each fresh copy of the rollout document. */
  onRollout?(rollout: RolloutJson): void;
}

export interface FollowLimits {
  refreshMs: number;
  reconnects: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  idleMs: number;
}

export const FOLLOW_LIMITS: FollowLimits = {
  refreshMs: LIMITS['cli.watch-refresh-interval'].value,
  reconnects: LIMITS['cli.watch-reconnects'].value,
  backoffBaseMs: LIMITS['cli.watch-backoff-base'].value,
  backoffMaxMs: LIMITS['cli.watch-backoff-max'].value,
  idleMs: LIMITS['cli.watch-idle-timeout'].value,
};

/** Follow rollout `id` until it is done, aborted or paused; resolves with that last document. */
export async function followRollout(s: Session, id: string, handlers: FollowHandlers, limits: FollowLimits = FOLLOW_LIMITS, stop?: AbortSignal): Promise<RolloutJson> {
  const path = `/v1/rollouts/${encodeURIComponent(id)}`;
  let lastSeq = 0;
  // Events come from the stream and from each fresh document (it carries the log): whichever brings one first
  // delivers it, so a rollout that ended before the stream opened still shows every event, once, in order.
  const deliver = (events: readonly RolloutEvent[]): void => {
    for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
      if (e.seq <= lastSeq) continue;
      lastSeq = e.seq;
      handlers.onEvent?.(e);
    }
  };
  const fresh = (doc: RolloutJson): void => {
    deliver(doc.events);
    handlers.onRollout?.(doc);
  };
  let current = await s.call({ path }, RolloutSchema);
  fresh(current);
  let lastFetch = Date.now();
  let failures = 0;
  const settled = (): boolean => SETTLED_ROLLOUT_STATES.has(current.state) || stop?.aborted === true;

  while (!settled()) {
    const ac = new AbortController();
    const onStop = (): void => ac.abort();
    stop?.addEventListener('abort', onStop, { once: true });
    let dirty = false;
    let wake: (() => void) | undefined;
    let streamDone = false;
    // Coalesce: the document is re-read at most once per refreshMs, after the events that made it stale.
    const refresher = (async () => {
      while (!streamDone && !settled()) {
        if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
        if (streamDone) break;
        await pause(lastFetch + limits.refreshMs - Date.now(), ac.signal);
        dirty = false;
        try {
          current = await s.call({ path }, RolloutSchema);
          fresh(current);
        } catch {
          // A failed read is retried after the next interval; a controller that stays away also ends the stream.
          dirty = true;
        }
        lastFetch = Date.now();
        if (settled()) ac.abort();
      }
    })();
    const touched = (): void => {
      dirty = true;
      wake?.();
      wake = undefined;
    };
    let received = false;
    try {
      await readEventStream(s, `${path}/events/stream`, String(lastSeq), limits.idleMs, ac.signal, RolloutEventSchema, (event) => {
        if (!received) {
          received = true;
          failures = 0;
        }
        if (event.seq <= lastSeq) return;
        deliver([event]);
        touched();
      }, () => {
        // Any frame (a heartbeat too) shows the connection is alive: a reconnect that worked starts the count again.
        if (!received) {
          received = true;
          failures = 0;
        }
      });
    } catch (err) {
      if (!ac.signal.aborted) {
        streamDone = true;
        wake?.();
        await refresher.catch(() => undefined);
        stop?.removeEventListener('abort', onStop);
        // The controller refusing us (unknown rollout, forbidden) will not change by retrying.
        if (err instanceof SwarmError && /NOT_FOUND|FORBIDDEN|REVOKED|BAD_REQUEST|UNTRUSTED|UNAVAILABLE/.test(err.code)) throw err;
        failures += 1;
        // Several controllers (replicas): the next attempt goes to the next one, round-robin, with the same backoff.
        s.failOver();
        if (failures > limits.reconnects) {
          throw cliError('SWARM_ERR_CLI_STREAM_LOST', `lost the event stream of rollout ${id} and could not reconnect ${limits.reconnects} times (${(err as Error).message}); the rollout goes on at the controller: swarmctl rollout watch ${id}`);
        }
        await pause(Math.max(limits.backoffBaseMs / 2, backoffDelay(failures - 1, { baseMs: limits.backoffBaseMs, capMs: limits.backoffMaxMs })), stop);
        // It may have ended while we were away.
        current = await s.call({ path }, RolloutSchema).catch(() => current);
        fresh(current);
        continue;
      }
    }
    streamDone = true;
    wake?.();
    await refresher;
    stop?.removeEventListener('abort', onStop);
    if (!settled()) {
      // The server ended the stream (a controller restart): come back after a short wait, as after an error.
      failures += 1;
      s.failOver();
      if (failures > limits.reconnects) throw cliError('SWARM_ERR_CLI_STREAM_LOST', `the event stream of rollout ${id} kept ending; the rollout goes on at the controller: swarmctl rollout watch ${id}`);
      await pause(backoffDelay(failures - 1, { baseMs: limits.backoffBaseMs, capMs: limits.backoffMaxMs }), stop);
    }
  }
  return current;
}

/**
 * Read one SSE connection to its end (or until `signal`): events that `schema` accepts to `onEvent`, any frame to
 * `onFrame`. `lastEventId` resumes where the caller stopped ('' or '0': from the start of what the stream replays).
 */
export async function readEventStream<S extends z.ZodType>(s: Session, path: string, lastEventId: string, idleMs: number, signal: AbortSignal, schema: S, onEvent: (e: z.output<S>) => void, onFrame: () => void): Promise<void> {
  // The controller that last answered this session (several replicas: the stream follows a failover).
  const base = s.baseUrl;
  let res: Dispatcher.ResponseData;
  try {
    // undici is loaded by the session already; imported here, not at swarmctl's start.
    const { request } = await import('undici');
    res = await request(new URL(path, base), {
      dispatcher: s.dispatcher,
      headers: { accept: 'text/event-stream', ...(lastEventId === '' ? {} : { 'last-event-id': lastEventId }) },
      signal,
      headersTimeout: idleMs,
      bodyTimeout: idleMs,
    });
  } catch (err) {
    if (signal.aborted) return;
    throw describeRemoteFailure(err, base);
  }
  if (res.statusCode !== 200) {
    const text = await res.body.text().catch(() => '');
    let parsed: { code?: unknown; message?: unknown } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // not our error shape
    }
    if (typeof parsed.code === 'string' && typeof parsed.message === 'string') throw new SwarmError(parsed.code, parsed.message);
    throw new Error(`event stream answered ${res.statusCode}`);
  }
  let buffer = '';
  try {
    res.body.setEncoding('utf8');
    for await (const chunk of res.body as AsyncIterable<string>) {
      buffer += chunk;
      // A frame never needs more than the server's own bound; a stream that never ends a frame is not ours.
      if (buffer.length > LIMITS['rollouts.sse-client-buffer'].value) throw new Error('event stream frame too large');
      for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        onFrame();
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data === '') continue;
        const parsed = schema.safeParse(JSON.parse(data));
        if (parsed.success) onEvent(parsed.data);
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    throw describeRemoteFailure(err, base);
  } finally {
    res.body.destroy();
  }
}
