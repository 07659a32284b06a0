// Builds the updater's parts from its config (store, agent runner, probe, records, engine); shared by run and the local commands.
import { makeDirs } from '../shared/files.js';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { randomIds } from '../shared/ids.js';
import { loadTlsMaterial, type TlsMaterial } from '../shared/tls.js';
import { buildDispatcher } from '../shared/dispatcher.js';
import type { AgentRunner } from './agent-runner.js';
import { createCommandRunner } from './command-runner.js';
import type { UpdaterConfig } from './config.js';
import { Updater } from './engine.js';
import { ReleaseStore } from './install/index.js';
import { OperationStore } from './operations.js';
import { hostPaths, type HostPaths } from './paths.js';
import { agentHealthFetcher, type FetchHealth } from './probe.js';
import { SpawnAgentRunner } from './spawn-runner.js';
import { detectRestartMode, SystemdAgentRunner } from './systemd-runner.js';
import { readUpdaterVersion } from './version.js';

export interface HostParts {
  paths: HostPaths;
  material: TlsMaterial;
  store: ReleaseStore;
  runner: AgentRunner;
  dispatcher: Dispatcher;
  fetchHealth: FetchHealth;
  operations: OperationStore;
  updater: Updater;
  signingPublicKeyPem: string | undefined;
  version: string;
  /** The identity in use now (renewal replaces it). */
  currentMaterial(): TlsMaterial;
  /** Use a renewed identity for probing the agent. */
  reloadMaterial(material: TlsMaterial): Promise<void>;
}

/** `readOnly`: for `status`, which must not create directories on the host it inspects. */
export async function buildHostParts(config: UpdaterConfig, logger: Logger, options: { agentManaged?: boolean; env?: NodeJS.ProcessEnv; onOperationEnd?: () => void; readOnly?: boolean } = {}): Promise<HostParts> {
  const env = options.env ?? process.env;
  const paths = hostPaths(config.installDir);
  if (!options.readOnly) {
    await makeDirs(paths.operations, 0o755);
    await makeDirs(paths.requests, 0o755);
  }
  const material = await loadTlsMaterial(config.pkiDir, 'updater');
  const signingPublicKeyPem = config.signingPublicKeyPath ? await readFile(config.signingPublicKeyPath, 'utf8') : undefined;
  const store = new ReleaseStore({ root: config.installDir, stagingDir: paths.staging, stateDir: paths.state, logger });
  // The agent of THIS host: its certificate must say agent/<our name>.
  const probeDispatcher = (m: TlsMaterial): Dispatcher =>
    buildDispatcher(m, { expect: { role: 'agent', name: m.identity.name }, connections: 2, keepAliveTimeoutMs: 1_000, connectTimeoutMs: config.probe.requestTimeoutMs });
  let current = material;
  let dispatcher = probeDispatcher(material);
  let fetchNow = agentHealthFetcher(dispatcher, config.agentPort, config.probe.requestTimeoutMs);
  const fetchHealth: FetchHealth = () => fetchNow();
  const mode = detectRestartMode(config.restart, env);
  const runner: AgentRunner = mode === 'systemd'
    ? new SystemdAgentRunner(config.agent.systemdUnit, createCommandRunner({ env }))
    : new SpawnAgentRunner({
      installDir: config.installDir, pkiDir: config.pkiDir, agentPort: config.agentPort, pidFile: paths.agentPid,
      stopGraceMs: config.agent.stopGraceMs, restartBackoffMs: config.agent.restartBackoffMs, restartBackoffMaxMs: config.agent.restartBackoffMaxMs,
      logger, env, ...(config.controller ? { controller: config.controller } : {}),
    });
  const operations = new OperationStore(paths.operations, randomIds, (err, record) =>
    logger.error({ err, op: record.id }, 'operation record not written (disk full?); the operation goes on, the record is served from memory'));
  const version = await readUpdaterVersion(env);
  const updater = new Updater({
    config, paths, store, runner, fetchHealth, operations, logger, version, env,
    ...(signingPublicKeyPem ? { signingPublicKeyPem } : {}),
    ...(options.agentManaged === false ? { agentManaged: false } : {}),
    ...(options.onOperationEnd ? { onOperationEnd: options.onOperationEnd } : {}),
  });
  return {
    paths, material, store, runner, get dispatcher() { return dispatcher; }, fetchHealth, operations, updater, signingPublicKeyPem, version,
    currentMaterial: () => current,
    async reloadMaterial(m) {
      const old = dispatcher;
      current = m;
      dispatcher = probeDispatcher(m);
      fetchNow = agentHealthFetcher(dispatcher, config.agentPort, config.probe.requestTimeoutMs);
      await old.close().catch(() => undefined);
    },
  };
}
