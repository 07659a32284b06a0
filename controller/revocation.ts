// Revocation at run time: the controller uses the same denylist and socket registry as every host (shared/).
export { Denylist, SocketRegistry } from '../shared/revocation.js';
