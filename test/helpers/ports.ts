// The tests' free-port picker lives with the dev scripts, which the demo shares without importing test code.
export { freePort } from '../../scripts/ports.js';
