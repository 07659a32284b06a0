// agent/: the public door of the swarm-agent (health over mTLS, service supervision, systemd integration).
export { agentError } from './errors.js';
export { buildAgentApp, type AgentAppDeps, type AgentAppLimits, type AgentView } from './app.js';
export { authorizeAgentRoute, AGENT_ROUTES, type AgentRoute } from './authorize.js';
export { decideHealth, serviceCondition, restartDelay, shouldRestart, isCrash, DEFAULT_POLICY, type SupervisorPolicy, type ServiceFacts } from './health.js';
export { OutputLog, DEFAULT_OUTPUT_LIMITS, type OutputLine, type OutputLimits } from './output-log.js';
export { loadRelease, resolveService, type ReleaseInfo, type ResolvedService } from './release.js';
export { SupervisedService, nodeSpawner, buildServiceEnv, type Spawner, type ServiceStatus, type LastExit } from './service.js';
export { Supervisor, type SupervisorDeps, type SupervisorEvents } from './supervisor.js';
export { createSystemdNotifier, execNotifyRunner, type Notifier, type NotifyRunner } from '../shared/systemd-notify.js';
export { TlsReloader, checkReplacementIdentity } from './tls-reload.js';
export { runAgent, loadAgentMaterial, type AgentHandle, type RunAgentDeps } from './run.js';
export { resolveAgentSettings, DEFAULT_LISTEN, DEFAULT_PKI_DIR, type AgentSettings, type AgentFlags } from './settings.js';
export { AgentStatusSchema, ServiceStatusSchema, type AgentStatus } from './status-schema.js';
export { createAgentProgram } from './cli.js';
