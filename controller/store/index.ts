// The store's door: the interface and the engines.
export type * from './store.js';
export { openSqliteStore } from './sqlite.js';
