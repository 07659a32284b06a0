// Crash-test fault points: SWARM_FAULT=<step> kills this process with SIGKILL right at that step.

/** Every fault point the updater knows (docs/updater.md lists what each one interrupts). */
export const FAULT_POINTS = [
  'after-staged', 'after-journal', 'after-prev-link', 'after-active-link', 'after-restart', 'after-probe', 'before-commit',
  'rollback-after-journal', 'rollback-after-active-link', 'rollback-after-restart', 'rollback-before-commit',
  'self-update-after-journal', 'self-update-after-links', 'agent-after-spawn',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Die here, like a power cut, when the environment asks for it. */
export function faultPoint(step: FaultPoint, env: NodeJS.ProcessEnv = process.env): void {
  if (env.SWARM_FAULT === step) process.kill(process.pid, 'SIGKILL');
}
