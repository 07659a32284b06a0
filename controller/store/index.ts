// The store's door: the interface and the engines (PostgreSQL loads its driver only when opened).
export type * from './store.js';
export { isSharedStore } from './store.js';
export { applyLabelChange } from './label-change.js';
export { openSqliteStore } from './sqlite.js';
export { openPostgresStore, type PostgresStoreOptions } from './postgres.js';
export { redactStoreUrl, storeSpec, StoreUrlSchema, type StoreSpec } from './spec.js';
