// Where things live under <install-dir> (DESIGN.md §3).
import { join } from 'node:path';

export interface HostPaths {
  installDir: string;
  releases: string;
  staging: string;
  state: string;
  journal: string;
  operations: string;
  history: string;
  agentPid: string;
  updaterPid: string;
  requests: string;
  /** Revoked serials this host refuses (pushed by the controller, merged from the CRL). */
  revoked: string;
  /** The link to the controller as the running updater last saw it (swarm-updater status reads it). */
  link: string;
  /** The updater's own code: a ReleaseStore rooted here. */
  updaterRoot: string;
  updaterStaging: string;
  updaterState: string;
  selfUpdateJournal: string;
}

export function hostPaths(installDir: string): HostPaths {
  const state = join(installDir, 'state');
  const updaterRoot = join(installDir, 'updater');
  return {
    installDir,
    releases: join(installDir, 'releases'),
    staging: join(installDir, 'staging'),
    state,
    journal: join(state, 'journal.json'),
    operations: join(state, 'operations'),
    history: join(state, 'history.json'),
    agentPid: join(state, 'agent.pid'),
    updaterPid: join(state, 'updater.pid'),
    requests: join(state, 'requests'),
    revoked: join(state, 'revoked.json'),
    link: join(state, 'link.json'),
    updaterRoot,
    updaterStaging: join(updaterRoot, 'staging'),
    updaterState: join(updaterRoot, 'state'),
    selfUpdateJournal: join(state, 'self-update.json'),
  };
}
