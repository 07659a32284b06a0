// `swarm-updater status` and `swarm-updater rollback` on the host itself, with the controller down: files on disk.
import type { Logger } from 'pino';
import type { OperationRecord, UpdaterStatus } from '../shared/wire.js';
import { remoteAnswerError } from '../shared/remote-errors.js';
import type { UpdaterConfig } from './config.js';
import { updaterError } from './errors.js';
import { askRunningUpdater, findRunningUpdater } from './local-requests.js';
import { hostPaths } from './paths.js';
import { detectRestartMode } from './systemd-runner.js';
import { buildHostParts } from './wiring.js';

/** The local status, and where the agent was asked (a port other than the default is easy to get wrong). */
export interface LocalStatus {
  status: UpdaterStatus;
  agentProbe: { address: string; error: string | null };
}

/** What the host runs: links, last operation, bad releases, and the agent's own answer (probed over mTLS). Creates nothing. */
export async function readLocalStatus(config: UpdaterConfig, logger: Logger): Promise<LocalStatus> {
  const parts = await buildHostParts(config, logger, { agentManaged: false, readOnly: true });
  try {
    await parts.updater.load();
    const status = await parts.updater.status();
    const daemon = await findRunningUpdater(parts.paths.updaterPid);
    const journal = await parts.updater.pendingJournal();
    const latest = status.lastOperation;
    return {
      status: {
        ...status,
        pid: daemon?.pid ?? process.pid,
        running: journal?.op ?? (latest?.state === 'running' ? latest.id : null),
        status: journal || latest?.state === 'running' ? 'busy' : status.status,
      },
      agentProbe: { address: `127.0.0.1:${config.agentPort}`, error: parts.updater.lastAgentProblem },
    };
  } finally {
    await parts.dispatcher.close();
  }
}

/**
 * Roll back to the previous good release. A running updater does it (it owns the agent); without one, this
 * process does: under systemd it restarts the agent and probes it, in spawn mode it only moves the links
 * (the agent starts on them with the next `swarm-updater run`).
 */
export async function rollbackLocally(config: UpdaterConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env, ask: { reason?: string } = {}): Promise<OperationRecord> {
  const paths = hostPaths(config.installDir);
  const daemon = await findRunningUpdater(paths.updaterPid);
  if (daemon) {
    const r = await askRunningUpdater(paths.requests, daemon.pid, config.probe.deadlineMs + 30_000, { kind: 'rollback', ...ask });
    if (!r.ok) throw remoteAnswerError(r.error);
    if (!('record' in r)) throw updaterError('SWARM_ERR_UPDATER_BUSY', 'the running updater answered another request');
    return r.record;
  }
  const systemd = detectRestartMode(config.restart, env) === 'systemd';
  const parts = await buildHostParts(config, logger, { agentManaged: systemd, env });
  try {
    await parts.updater.load();
    const pending = await parts.updater.pendingJournal();
    if (pending) {
      throw updaterError('SWARM_ERR_UPDATER_BUSY', `operation ${pending.op} was interrupted; start the updater (swarm-updater run) to finish it, then roll back`, { details: { running: pending.op } });
    }
    return await parts.updater.rollback({ requestedBy: 'local', ...(ask.reason ? { reason: ask.reason } : {}) });
  } finally {
    await parts.dispatcher.close();
  }
}

/** Clear a bad mark on this host: the running updater does it when there is one (it owns the marks), else this process. */
export async function unmarkBadLocally(config: UpdaterConfig, logger: Logger, release: string): Promise<{ id: string; reason: string }> {
  const paths = hostPaths(config.installDir);
  const daemon = await findRunningUpdater(paths.updaterPid);
  if (daemon) {
    const r = await askRunningUpdater(paths.requests, daemon.pid, config.probe.deadlineMs + 30_000, { kind: 'unmark-bad', release });
    if (!r.ok) throw updaterError(r.error.code as 'SWARM_ERR_UPDATER_NOT_MARKED_BAD', r.error.message);
    if (!('unmarked' in r)) throw updaterError('SWARM_ERR_UPDATER_BUSY', 'the running updater answered another request');
    return r.unmarked;
  }
  const parts = await buildHostParts(config, logger, { agentManaged: false });
  try {
    return await parts.updater.unmarkBad(release, 'local');
  } finally {
    await parts.dispatcher.close();
  }
}
