// Probing the local agent over mTLS: healthy means status "ok" AND the expected release id; then the watch window.
import { request, type Dispatcher } from 'undici';
import { AgentHealthSchema, type AgentHealth } from '../shared/wire.js';
import { backoffDelay } from '../shared/backoff.js';
import { monotonicClock, type MonotonicClock } from '../shared/clock.js';

export type FetchHealth = () => Promise<AgentHealth>;

/** GET https://127.0.0.1:<port>/v1/health with the updater's identity, validated. */
export function agentHealthFetcher(dispatcher: Dispatcher, port: number, timeoutMs: number): FetchHealth {
  return async () => {
    const res = await request(`https://127.0.0.1:${port}/v1/health`, { dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`agent answered ${res.statusCode}`);
    return AgentHealthSchema.parse(JSON.parse(text));
  };
}

export type ProbeResult = { ok: true; health: AgentHealth } | { ok: false; reason: string; last?: AgentHealth };

/** Why a health answer is not good enough, or undefined when it is. */
export function judgeHealth(health: AgentHealth, expectId: string): string | undefined {
  if (health.release !== expectId) return `agent reports release ${health.release.slice(0, 12)}, expected ${expectId.slice(0, 12)}`;
  if (health.status !== 'ok') return `agent reports status ${health.status}`;
  return undefined;
}

/** What the probe and the watch window both ask of the agent, how often, and what ends them early. */
interface ProbeLoopOptions {
  fetch: FetchHealth;
  expectId: string;
  intervalMs: number;
  /** Aborted when the agent process died (or a rollback pre-empts): no point waiting for the end. */
  signal?: AbortSignal;
  /** Monotonic by default; tests pass virtual time. */
  clock?: MonotonicClock;
}

export interface WaitOptions extends ProbeLoopOptions {
  deadlineMs: number;
  backoffMaxMs: number;
}

/** Probe until healthy with the expected id, with backoff, until the deadline (monotonic: a clock step moves no deadline). */
export async function waitHealthy(o: WaitOptions): Promise<ProbeResult> {
  const clock = o.clock ?? monotonicClock;
  const deadline = clock.now() + o.deadlineMs;
  let reason = 'no answer yet';
  let last: AgentHealth | undefined;
  for (let i = 0; i < 100_000; i++) {
    if (o.signal?.aborted) return { ok: false, reason: String(o.signal.reason ?? 'aborted'), ...(last ? { last } : {}) };
    try {
      last = await o.fetch();
      const why = judgeHealth(last, o.expectId);
      if (!why) return { ok: true, health: last };
      // The agent's own verdict: `failing` (crash limit reached, sticky) will not turn into `ok` by waiting.
      if (last.release === o.expectId && last.status === 'failing') return { ok: false, reason: `the new agent reports status failing`, last };
      reason = why;
    } catch (err) {
      reason = `agent unreachable: ${(err as Error).message}`;
    }
    const left = deadline - clock.now();
    if (left <= 0) break;
    await clock.pause(Math.min(backoffDelay(i, { baseMs: o.intervalMs, capMs: o.backoffMaxMs, jitter: 'none' }), left), o.signal);
  }
  return { ok: false, reason: `not healthy within ${o.deadlineMs} ms: ${reason}`, ...(last ? { last } : {}) };
}

export interface WatchOptions extends ProbeLoopOptions {
  windowMs: number;
  maxFailures: number;
  /** The agent that passed the probe: a different pid or start time later means it restarted. */
  baseline: AgentHealth;
}

/** The agent must stay healthy (same process, expected id) for the whole window. */
export async function watchWindow(o: WatchOptions): Promise<ProbeResult> {
  const clock = o.clock ?? monotonicClock;
  const end = clock.now() + o.windowMs;
  let failures = 0;
  let last = o.baseline;
  for (let i = 0; i < 1_000_000 && clock.now() < end; i++) {
    await clock.pause(Math.min(o.intervalMs, Math.max(0, end - clock.now())), o.signal);
    if (o.signal?.aborted) return { ok: false, reason: String(o.signal.reason ?? 'aborted'), last };
    try {
      const h = await o.fetch();
      if (h.pid !== o.baseline.pid || h.startedAt !== o.baseline.startedAt) return { ok: false, reason: `agent restarted inside the watch window (pid ${o.baseline.pid} -> ${h.pid})`, last: h };
      const why = judgeHealth(h, o.expectId);
      last = h;
      failures = why ? failures + 1 : 0;
      if (why && failures >= o.maxFailures) return { ok: false, reason: `${failures} failed probes inside the watch window: ${why}`, last };
    } catch (err) {
      failures += 1;
      if (failures >= o.maxFailures) return { ok: false, reason: `${failures} failed probes inside the watch window: ${(err as Error).message}`, last };
    }
  }
  if (o.signal?.aborted) return { ok: false, reason: String(o.signal.reason ?? 'aborted'), last };
  return { ok: true, health: last };
}
