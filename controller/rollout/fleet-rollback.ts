// Fleet rollback, the incident path: every selected host's updater asked to go back to its prev, in parallel and
// bounded, reported host by host. `--rollout ID` only takes hosts back to what that rollout found on them.
import type { Logger } from 'pino';
import { forEachLimited } from '../../shared/limit-concurrency.js';
import { LIMITS } from '../../shared/limits.js';
import type { FleetRollbackReport } from '../../shared/rollout-api.js';
import type { TlsMaterial } from '../../shared/tls.js';
import { OperationRecordSchema } from '../../shared/wire.js';
import { controllerError } from '../errors.js';
import { isTransientSendFailure, NotSentError, UpdaterClient } from './updater-client.js';

export type HostRollbackResult = FleetRollbackReport['hosts'][number];

export interface RollbackTarget {
  name: string;
  address: string | null;
  updaterOnline: boolean;
  /** `--rollout`: go back only when the host runs `expect.release` and its prev is `expect.prev` (what it ran before). */
  expect?: { release: string; prev: string | null; rollout: string };
}

export interface RollbackDeps {
  material: () => TlsMaterial;
  logger: Logger;
  connectTimeoutMs: number;
  hostDeadlineMs: number;
}

const unreachable = (name: string, why: string): HostRollbackResult => {
  const e = controllerError('SWARM_ERR_ROLLOUT_HOST_UNREACHABLE', `${name}: ${why}`);
  return { name, state: 'unreachable', release: null, error: { code: e.code, message: e.message } };
};

/** Judge the updater's answer to `POST /v1/rollback`. */
export function judgeRollbackAnswer(name: string, status: number, body: unknown): HostRollbackResult {
  const record = OperationRecordSchema.safeParse(body);
  if (status === 200 && record.success && record.data.state === 'rolled-back') {
    return { name, state: 'rolled-back', release: record.data.to?.id ?? null, error: null };
  }
  const b = body as { code?: unknown; message?: unknown } | null;
  if (record.success && record.data.error) return { name, state: 'failed', release: record.data.from?.id ?? null, error: { code: record.data.error.code, message: record.data.error.message } };
  if (b && typeof b.code === 'string' && typeof b.message === 'string') return { name, state: 'failed', release: null, error: { code: b.code, message: b.message } };
  const e = controllerError('SWARM_ERR_ROLLOUT_PUSH_FAILED', `${name}: POST /v1/rollback answered ${status} without a record or an error code`);
  return { name, state: 'failed', release: null, error: { code: e.code, message: e.message } };
}

async function rollbackOne(deps: RollbackDeps, t: RollbackTarget, signal: AbortSignal): Promise<HostRollbackResult> {
  if (t.address === null) return unreachable(t.name, 'the host has no updater address');
  if (!t.updaterOnline) return unreachable(t.name, 'its updater\'s channel is down');
  const client = new UpdaterClient({ material: deps.material(), host: t.name, address: t.address, connectTimeoutMs: deps.connectTimeoutMs });
  try {
    if (t.expect) {
      const status = await client.health(signal);
      if (status.active?.id !== t.expect.release || (status.prev?.id ?? null) !== t.expect.prev) {
        const e = controllerError('SWARM_ERR_ROLLBACK_TARGET_MISMATCH',
          `${t.name} runs ${status.active?.id.slice(0, 12) ?? 'nothing'} with prev ${status.prev?.id.slice(0, 12) ?? 'none'}; rollout ${t.expect.rollout} moved it from ${t.expect.prev?.slice(0, 12) ?? 'unknown'} to ${t.expect.release.slice(0, 12)}, so it is not sent further back`);
        return { name: t.name, state: 'failed', release: status.active?.id ?? null, error: { code: e.code, message: e.message } };
      }
    }
    // A reset before the request left (an updater's handshake timeout on a loaded host) sent nothing: try again.
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await client.rollback(signal, deps.hostDeadlineMs);
        return judgeRollbackAnswer(t.name, answer.status, answer.body);
      } catch (err) {
        if (!(err instanceof NotSentError) || !isTransientSendFailure(err) || attempt >= LIMITS['rollout.push-attempts'].value || signal.aborted) throw err;
      }
    }
  } catch (err) {
    if (err instanceof NotSentError) return unreachable(t.name, (err.cause as Error)?.message ?? 'connection failed');
    const e = controllerError('SWARM_ERR_ROLLOUT_PUSH_FAILED', `${t.name}: ${(err as Error).message}; see swarmctl host show ${t.name}`);
    return { name: t.name, state: 'failed', release: null, error: { code: e.code, message: e.message } };
  } finally {
    await client.close();
  }
}

/** Roll back every target, at most `parallel` at once; results in the targets' order. */
export async function rollbackHosts(deps: RollbackDeps, targets: readonly RollbackTarget[], parallel: number, signal: AbortSignal): Promise<HostRollbackResult[]> {
  const results: HostRollbackResult[] = new Array(targets.length);
  // rollbackOne reports every failure as a result: no item throws, so every target is tried.
  await forEachLimited(targets, Math.max(1, parallel), async (t, i) => {
    results[i] = await rollbackOne(deps, t, signal);
  });
  return results;
}
