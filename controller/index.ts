// The controller's public door.
export { buildControllerApp, DEFAULT_HEARTBEAT_MS } from './app.js';
export type { ControllerApp, ControllerDeps } from './app.js';
export { controllerError } from './errors.js';
export { initStateDir, loadStateDir, statePaths } from './state-dir.js';
export { serveController } from './serve.js';
export { openSqliteStore } from './store/index.js';
export type * from './store/store.js';
export type { HostView } from './host-view.js';
