// Local requests from `swarm-updater rollback` to a running updater: a file in state/requests plus SIGUSR2.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { isSwarmError, sharedError, type SwarmError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/files.js';
import { OperationRecordSchema, type OperationRecord } from '../shared/wire.js';
import { updaterError } from './errors.js';
import { processStartTime } from './spawn-runner.js';

/** What `swarm-updater rollback` (older CLIs send no reason) and `swarm-updater unmark-bad` ask. */
const RequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('rollback'), at: z.string(), reason: z.string().optional() }),
  z.object({ kind: z.literal('unmark-bad'), at: z.string(), release: z.string() }),
]);
export type LocalRequest = z.output<typeof RequestSchema>;
type Ask = { kind: 'rollback'; reason?: string } | { kind: 'unmark-bad'; release: string };
export const RequestResultSchema = z.union([
  z.object({ ok: z.literal(true), record: OperationRecordSchema }),
  z.object({ ok: z.literal(true), unmarked: z.object({ id: z.string(), reason: z.string() }) }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type RequestResult = z.output<typeof RequestResultSchema>;

/** The answer file carries code and message only (details stay in the daemon's log). */
function errorAnswer(err: SwarmError): { code: string; message: string } {
  return { code: err.code, message: err.message };
}

export const UpdaterPidSchema = z.object({ pid: z.number().int().positive(), startTime: z.string(), port: z.number().int() });

/** The running updater (pid file checked against the process start time), or undefined. */
export async function findRunningUpdater(pidFile: string): Promise<z.output<typeof UpdaterPidSchema> | undefined> {
  try {
    const entry = UpdaterPidSchema.parse(JSON.parse(await readFile(pidFile, 'utf8')));
    return (await processStartTime(entry.pid)) === entry.startTime ? entry : undefined;
  } catch {
    return undefined;
  }
}

export interface LocalHandlers {
  rollback(request: Extract<LocalRequest, { kind: 'rollback' }>): Promise<OperationRecord>;
  unmarkBad(release: string): Promise<{ id: string; reason: string }>;
}

/** Daemon side: answer every pending request file. */
export async function serveLocalRequests(dir: string, handlers: LocalHandlers): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{16}\.json$/.test(n));
  for (const name of names) {
    // Claimed by rename (atomic): two handlers running at once (start and a signal) never serve one request twice.
    const path = join(dir, `${name}.claimed`);
    try {
      await rename(join(dir, name), path);
    } catch {
      continue;
    }
    let parsed;
    try {
      parsed = RequestSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    } catch {
      parsed = undefined;
    }
    await unlink(path).catch(() => undefined);
    if (!parsed?.success) continue;
    let result: RequestResult;
    try {
      const r = parsed.data;
      result = r.kind === 'rollback' ? { ok: true, record: await handlers.rollback(r) } : { ok: true, unmarked: await handlers.unmarkBad(r.release) };
    } catch (err) {
      result = { ok: false, error: isSwarmError(err) ? errorAnswer(err) : errorAnswer(sharedError('SWARM_ERR_INTERNAL', (err as Error).message)) };
    }
    await writeFileAtomic(join(dir, `${name.slice(0, -5)}.result`), JSON.stringify(result), 0o644);
  }
}

/** CLI side: drop a request, signal the updater, wait for its answer (bounded). */
export async function askRunningUpdater(dir: string, pid: number, timeoutMs: number, ask: Ask = { kind: 'rollback' }): Promise<RequestResult> {
  const rid = randomBytes(8).toString('hex');
  const request: LocalRequest = { ...ask, at: new Date().toISOString() };
  await writeFileAtomic(join(dir, `${rid}.json`), JSON.stringify(request), 0o644);
  process.kill(pid, 'SIGUSR2');
  const end = performance.now() + timeoutMs;
  const resultPath = join(dir, `${rid}.result`);
  while (performance.now() < end) {
    try {
      const r = RequestResultSchema.parse(JSON.parse(await readFile(resultPath, 'utf8')));
      await unlink(resultPath).catch(() => undefined);
      return r;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await unlink(join(dir, `${rid}.json`)).catch(() => undefined);
  return { ok: false, error: errorAnswer(updaterError('SWARM_ERR_UPDATER_BUSY', `the running updater (pid ${pid}) did not answer within ${timeoutMs} ms`)) };
}
