// How a push ended, judged purely from what the updater answered or recorded: never guessed from a silence.
import { OperationRecordSchema, type OperationRecord } from '../../shared/wire.js';
import { controllerError } from '../errors.js';
import type { RolloutHostError } from '../store/index.js';

/** A settled push: the host's state in the rollout and why. */
export type PushOutcome =
  | { state: 'succeeded'; record: OperationRecord }
  | { state: 'rolled-back' | 'failed' | 'unreachable'; error: RolloutHostError; record?: OperationRecord };

/** What an answer to `POST /v1/update` (or `/v1/self-update`) means: an outcome, or where to look next. */
export type AnswerVerdict =
  | PushOutcome
  /** Another operation runs on the host (409 busy): wait for it, then settle from the records. */
  | { settle: 'busy'; running: string | null }
  /** Accepted and still running (self-update answers 202): follow the record. */
  | { settle: 'running'; id: string }
  /**
   * Refused as sender-gone on a connection that is still up: the updater joined this push to an earlier upload of
   * the same release (one whose cut it had not noticed yet) and answers with that upload's refusal. This push's
   * body was never installed either: send it again.
   */
  | { settle: 'resend'; code: string };

/** The updater's own explanation of a failed record: the detail of its last step that has one (the probe's). */
export function lastStepDetail(record: OperationRecord): string | undefined {
  for (let i = record.steps.length - 1; i >= 0; i--) {
    const detail = record.steps[i]!.detail;
    if (detail !== undefined && detail !== '') return detail;
  }
  return undefined;
}

function errorOf(record: OperationRecord, fallback: { code: string; message: string }): RolloutHostError {
  const base = record.error ?? fallback;
  const detail = lastStepDetail(record);
  return { code: base.code, message: base.message, ...(detail !== undefined ? { detail } : {}) };
}

/** An ended record's outcome; 'running' while the operation goes on. */
export function judgeRecord(record: OperationRecord): PushOutcome | 'running' {
  switch (record.state) {
    case 'running': return 'running';
    case 'committed': return { state: 'succeeded', record };
    // The updater's own code for a release it rolled back (its catalogue is the updater's; the wire carries it).
    case 'rolled-back': return { state: 'rolled-back', error: errorOf(record, { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: `operation ${record.id} rolled back` }), record };
    default: return { state: 'failed', error: errorOf(record, controllerError('SWARM_ERR_ROLLOUT_PUSH_FAILED', `operation ${record.id} ended ${record.state}`)), record };
  }
}

const parseRecord = (body: unknown): OperationRecord | undefined => {
  const r = OperationRecordSchema.safeParse(body);
  return r.success ? r.data : undefined;
};

const codeOf = (body: unknown): { code: string; message: string } | undefined => {
  const b = body as { code?: unknown; message?: unknown } | null;
  return b && typeof b.code === 'string' && typeof b.message === 'string' ? { code: b.code, message: b.message } : undefined;
};

/** Judge the updater's answer to a push (status and parsed JSON body). */
export function judgeUpdateAnswer(status: number, body: unknown): AnswerVerdict {
  const record = parseRecord(body);
  const coded = codeOf(body);
  if (status === 409 && coded?.code === 'SWARM_ERR_UPDATER_BUSY') {
    const running = (body as { details?: { running?: unknown } }).details?.running;
    return { settle: 'busy', running: typeof running === 'string' ? running : null };
  }
  if (record) {
    const judged = judgeRecord(record);
    if (judged === 'running') return { settle: 'running', id: record.id };
    if (uploadNeverArrived(record)) return { settle: 'resend', code: record.error!.code };
    // A 200 that is not committed, or a 409 that says committed, is not an answer we understand.
    if (judged.state === 'succeeded' && status !== 200) return unexpected(status);
    return judged;
  }
  if (status >= 400 && coded) return SENDER_GONE.has(coded.code) ? { settle: 'resend', code: coded.code } : { state: 'failed', error: { code: coded.code, message: coded.message } };
  return unexpected(status);
}

function unexpected(status: number): PushOutcome {
  const err = controllerError('SWARM_ERR_ROLLOUT_PUSH_FAILED', `the updater answered ${status} without an operation record or an error code`);
  return { state: 'failed', error: { code: err.code, message: err.message } };
}

/**
 * Refusals that say the sender went away before the updater had the whole release: nothing was installed or changed.
 * SWARM_ERR_UPDATER_UPLOAD_ABORTED when the updater saw the connection close first; SWARM_ERR_INSTALL_ABORTED (the
 * installer's "client gone", or "the release upload failed before its end") when the body's read failed before that
 * was seen: a controller killed mid-push leaves either, depending on the order the updater learnt it in.
 */
const SENDER_GONE = new Set(['SWARM_ERR_UPDATER_UPLOAD_ABORTED', 'SWARM_ERR_INSTALL_ABORTED']);

/**
 * An upload the updater saw cut before the whole release arrived (a dropped connection mid-body): it refused it and
 * changed nothing, so the record says the push never arrived, not that the release or the host failed.
 */
export function uploadNeverArrived(record: OperationRecord): boolean {
  return record.state === 'refused' && record.error !== undefined && record.error !== null && SENDER_GONE.has(record.error.code);
}

/**
 * The record of this push among an updater's records (newest first): the newest one for the release and kind
 * that started at or after `sinceMs` (the push's start minus the allowed clock skew). None: the push never arrived.
 */
export function pickPushRecord(records: readonly OperationRecord[], releaseId: string, kind: OperationRecord['kind'], sinceMs: number): OperationRecord | undefined {
  let best: OperationRecord | undefined;
  for (const r of records) {
    if (r.kind !== kind || r.release?.id !== releaseId) continue;
    const at = Date.parse(r.startedAt);
    if (!Number.isFinite(at) || at < sinceMs) continue;
    if (!best || at > Date.parse(best.startedAt)) best = r;
  }
  return best;
}
