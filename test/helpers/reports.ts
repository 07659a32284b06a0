// Report fixtures for channel tests: the largest valid reports, every array and string at its cap (free text in 3-byte characters).
import { LIMITS } from '../../shared/limits.js';
import type { AgentHealth, UpdaterStatus } from '../../shared/wire.js';

const TEXT = LIMITS['channels.report-text-chars'].value;
const at = '2026-01-01T00:00:00.000Z';
const hex = (c: string): string => c.repeat(64);
const version = `v${'9'.repeat(63)}`;

/** An agent report at every cap: 64 services with 63-character names. */
export function maximalAgentHealth(): AgentHealth {
  return {
    status: 'degraded', release: hex('a'), version, pid: 2 ** 31 - 1, startedAt: at,
    services: Array.from({ length: LIMITS['channels.report-services'].value }, (_, i) => ({
      name: `s${String(i).padStart(2, '0')}${'x'.repeat(60)}`, state: 'backoff' as const, required: true, restarts: 2 ** 31 - 1, pid: 2 ** 31 - 1,
    })),
  };
}

/** An updater report at every cap, carrying a maximal agent report too. */
export function maximalUpdaterStatus(): UpdaterStatus {
  const ref = { id: hex('b'), version, dir: `${version}-${'b'.repeat(12)}` };
  return {
    status: 'degraded', version, pid: 2 ** 31 - 1, startedAt: at, active: ref, prev: ref, running: 'o'.repeat(64),
    lastOperation: {
      id: 'o'.repeat(64), kind: 'self-update', state: 'rolled-back', release: { id: '€'.repeat(TEXT), version: '€'.repeat(TEXT) },
      from: ref, to: ref, startedAt: at, endedAt: at, error: { code: 'E'.repeat(64), message: '€'.repeat(TEXT) },
      steps: Array.from({ length: LIMITS['channels.report-steps'].value }, () => ({ at, step: 's'.repeat(64), detail: '€'.repeat(TEXT) })),
      requestedBy: '€'.repeat(TEXT), reason: '€'.repeat(TEXT),
    },
    agent: maximalAgentHealth(),
    badReleases: Array.from({ length: LIMITS['channels.report-bad-releases'].value }, () => hex('c')),
  };
}
