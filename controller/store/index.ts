// The store's door: the interface and the engines.
export type * from './store.js';
export { applyLabelChange } from './label-change.js';
export { openSqliteStore } from './sqlite.js';
