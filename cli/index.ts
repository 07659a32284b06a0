// swarmctl's public door.
export { buildSwarmctl } from './program.js';
export { cliError } from './errors.js';
export type { CliIo } from './session.js';
