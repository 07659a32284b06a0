// Push one release to one host's updater and learn how it ended: from the answer, or from the updater's records
// when the connection dropped; a push the records show never arrived is sent again, nothing is ever guessed.
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import { LIMITS } from '../../shared/limits.js';
import type { Slots } from '../../shared/limit-concurrency.js';
import type { TlsMaterial } from '../../shared/tls.js';
import type { OperationRecord } from '../../shared/wire.js';
import { controllerError } from '../errors.js';
import { judgeRecord, judgeUpdateAnswer, pickPushRecord, uploadNeverArrived, type PushOutcome } from './push-outcome.js';
import { isTransientSendFailure, NotSentError, UpdaterClient, type ReleaseSource } from './updater-client.js';

export interface PushDeps {
  material: () => TlsMaterial;
  releases: ReleaseSource;
  clock: Clock;
  logger: Logger;
  /**
   * The controller's slots for release bodies in flight (LIMITS rollout.concurrent-bodies): a push holds one from
   * its request until the last byte of the body left, not while the updater installs. Absent: no bound.
   */
  bodySlots?: Slots;
  /** Tests shorten the settle timings; defaults from shared/limits.ts. */
  timing?: Partial<PushTiming>;
}

export interface PushTiming {
  connectTimeoutMs: number;
  settleGraceMs: number;
  pollIntervalMs: number;
  clockSkewMs: number;
  attempts: number;
}

const defaultTiming = (): PushTiming => ({
  connectTimeoutMs: LIMITS['rollout.connect-timeout'].value,
  settleGraceMs: LIMITS['rollout.settle-grace'].value,
  pollIntervalMs: LIMITS['rollout.settle-poll-interval'].value,
  clockSkewMs: LIMITS['rollout.clock-skew'].value,
  attempts: LIMITS['rollout.push-attempts'].value,
});

export interface PushRequest {
  host: string;
  /** HOST:PORT of the updater; null: nowhere to push (unreachable). */
  address: string | null;
  releaseId: string;
  kind: 'agent' | 'updater';
  /** When this host's push started (ms, as stored); records older than this minus the clock skew are not its. */
  startedAt: number;
  deadlineMs: number;
  /** Settle from the records first (a restart found the host pushing): never push blind. */
  resume?: boolean;
  /** Aborted when the controller stops: the push is left to be settled after the restart. */
  signal: AbortSignal;
}

const unsettled = (host: string, why: string): PushOutcome => {
  const err = controllerError('SWARM_ERR_ROLLOUT_PUSH_UNSETTLED', `${host}: ${why}; its updater settles the operation by itself (see swarmctl host show ${host})`);
  return { state: 'failed', error: { code: err.code, message: err.message } };
};

const unreachable = (host: string, why: string): PushOutcome => {
  const err = controllerError('SWARM_ERR_ROLLOUT_HOST_UNREACHABLE', `${host}: ${why}`);
  return { state: 'unreachable', error: { code: err.code, message: err.message } };
};

const reasonOf = (err: unknown): string => {
  const e = err instanceof NotSentError ? err.cause : err;
  const cause = (e as { cause?: { message?: string } })?.cause?.message;
  return [(e as Error)?.message ?? String(e), cause].filter(Boolean).join(': ');
};

/** Push a release to a host and settle its outcome (see the module comment). Rejects only when `signal` aborts. */
export async function pushRelease(deps: PushDeps, req: PushRequest): Promise<PushOutcome> {
  const t = { ...defaultTiming(), ...deps.timing };
  if (req.address === null) return unreachable(req.host, 'the host has no updater address (swarmctl host set-address)');
  const client = new UpdaterClient({ material: deps.material(), host: req.host, address: req.address, connectTimeoutMs: t.connectTimeoutMs });
  const opKind: OperationRecord['kind'] = req.kind === 'updater' ? 'self-update' : 'update';
  const clock = deps.clock;
  // A resumed push has no time left of its own: its records are read within the grace; a new send gets a new deadline.
  let deadline = clock.now() + (req.resume ? 0 : req.deadlineMs);
  const since = req.startedAt - t.clockSkewMs;
  const log = deps.logger.child({ host: req.host, release: req.releaseId });

  /** Follow one running record until it ends, within the deadline plus grace. */
  const follow = async (id: string, until: number): Promise<PushOutcome> => {
    for (let i = 0; i < 100_000; i++) {
      try {
        const judged = judgeRecord(await client.getOperation(id, req.signal));
        if (judged !== 'running') return judged;
      } catch (err) {
        if (req.signal.aborted) throw err;
        log.warn({ err, op: id }, 'could not read the operation record; retrying');
      }
      if (clock.now() >= until) return unsettled(req.host, `operation ${id} had not ended by the deadline`);
      await clock.delay(t.pollIntervalMs, req.signal);
    }
    return unsettled(req.host, `operation ${id} had not ended`);
  };

  /** The records' verdict on this push: an outcome, or 'none' when it never arrived. */
  const settle = async (): Promise<PushOutcome | 'none'> => {
    const until = Math.max(deadline, clock.now() + t.settleGraceMs);
    for (let i = 0; i < 100_000; i++) {
      try {
        const record = pickPushRecord(await client.listOperations(req.releaseId, opKind, 5, req.signal), req.releaseId, opKind, since);
        if (!record) return 'none';
        const judged = judgeRecord(record);
        const outcome = judged === 'running' ? await follow(record.id, until) : judged;
        // A cut mid-body leaves a refused record on a real updater: the push did not arrive, so it is sent again.
        return outcome.record && uploadNeverArrived(outcome.record) ? 'none' : outcome;
      } catch (err) {
        if (req.signal.aborted) throw err;
        log.warn({ err }, 'could not read the updater\'s operation records; retrying');
      }
      if (clock.now() >= until) return unsettled(req.host, 'the connection dropped and the updater\'s records could not be read');
      await clock.delay(t.pollIntervalMs, req.signal);
    }
    return unsettled(req.host, 'the updater\'s records could not be read');
  };

  try {
    if (req.resume) {
      const settled = await settle();
      if (settled !== 'none') return settled;
      log.info('the records show the push never arrived; sending it');
      deadline = clock.now() + req.deadlineMs;
    }
    let lastBusy: string | null = null;
    let lastNotSent: string | null = null;
    for (let attempt = 0; attempt < t.attempts; attempt++) {
      const remaining = deadline - clock.now();
      if (remaining <= 0) break;
      const ac = new AbortController();
      const onAbort = (): void => ac.abort(req.signal.reason);
      req.signal.addEventListener('abort', onAbort, { once: true });
      const timer = clock.setTimeout(() => ac.abort(new Error('host deadline')), remaining);
      let answer;
      let releaseSlot: (() => void) | undefined;
      try {
        // Waiting for a body slot sends nothing: a deadline reached here leaves nothing to settle.
        try {
          releaseSlot = deps.bodySlots ? await deps.bodySlots.acquire(ac.signal) : undefined;
        } catch (err) {
          if (req.signal.aborted) throw err;
          break;
        }
        let opened;
        try {
          opened = await deps.releases.openBody(req.releaseId);
        } catch (err) {
          // The controller's own release is missing or unreadable: nothing was sent, and another try would not help.
          const e = err as { code?: unknown; message?: unknown };
          return { state: 'failed', error: { code: typeof e.code === 'string' ? e.code : 'SWARM_ERR_RELEASE_NOT_FOUND', message: `${req.host}: ${String(e.message ?? err)}` } };
        }
        const { release, body } = opened;
        answer = await client.postRelease({ ...release, body }, req.kind === 'updater' ? '/v1/self-update' : '/v1/update', {
          headersTimeoutMs: deadline - clock.now(), signal: ac.signal, ...(releaseSlot ? { onBodySent: releaseSlot } : {}),
        });
      } catch (err) {
        if (req.signal.aborted) throw err;
        if (err instanceof NotSentError) {
          // A reset during the handshake (an updater's handshake timeout on a loaded host, a flaky path) sent
          // nothing: try again within the attempts and the deadline. Refused, no route, a wrong peer: unreachable now.
          if (!isTransientSendFailure(err)) return unreachable(req.host, reasonOf(err));
          lastNotSent = reasonOf(err);
          log.warn({ err }, 'the connection to the updater was reset before anything was sent; trying again');
          releaseSlot?.();
          await clock.delay(t.pollIntervalMs, req.signal);
          continue;
        }
        lastNotSent = null;
        // Cut after the body started (or at the deadline): only the updater knows what happened.
        log.warn({ err }, 'the push connection dropped; settling from the updater\'s records');
        const settled = await settle();
        if (settled !== 'none') return settled;
        continue;
      } finally {
        releaseSlot?.();
        clock.clearTimeout(timer);
        req.signal.removeEventListener('abort', onAbort);
      }
      lastNotSent = null;
      const verdict = judgeUpdateAnswer(answer.status, answer.body);
      if (!('settle' in verdict)) return verdict;
      if (verdict.settle === 'running') return await follow(verdict.id, Math.max(deadline, clock.now() + t.settleGraceMs));
      if (verdict.settle === 'resend') {
        // Give the updater a moment to finish the cut upload it answered with, then send ours again.
        log.warn({ code: verdict.code }, 'the updater answered with an earlier, cut upload of this release; sending it again');
        await clock.delay(t.pollIntervalMs, req.signal);
        continue;
      }
      // Busy with another operation: wait for it to end, then see whether ours ran (it did not: push again).
      lastBusy = verdict.running;
      if (verdict.running) await follow(verdict.running, deadline);
      const settled = await settle();
      if (settled !== 'none') return settled;
    }
    if (lastNotSent !== null) return unreachable(req.host, lastNotSent);
    if (lastBusy !== null) return { state: 'failed', error: { code: 'SWARM_ERR_UPDATER_BUSY', message: `${req.host}: operation ${lastBusy} kept the updater busy until the deadline` } };
    return unsettled(req.host, 'the push did not reach the updater within the deadline');
  } finally {
    await client.close();
  }
}
