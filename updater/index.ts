// The updater's public door: the app builder, the engine, config, the authorization table and the error catalogue.
export { buildUpdaterApp, type UpdaterAppDeps } from './app.js';
export { authorizeUpdaterRoute, UPDATER_ROUTE_ROLES } from './authorize.js';
export { UpdaterConfigSchema, loadUpdaterConfig, defaultUpdaterConfig, type UpdaterConfig } from './config.js';
export { Updater, type UpdaterDeps, type UpdateRequest } from './engine.js';
export { updaterError, type UpdaterErrorCode } from './errors.js';
export { FAULT_POINTS, type FaultPoint } from './fault.js';
export { hostPaths, type HostPaths } from './paths.js';
export type { AgentRunner, AgentEvent, CommandRunner } from './agent-runner.js';
