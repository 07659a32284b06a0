// Node's system errors (EADDRINUSE, EACCES, ...) turned into Swarm errors that say what to do, for every bin.
import { SwarmError, sharedError } from './errors.js';

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
  path?: string;
}

/** A Swarm error for a known system failure, or undefined when the error is something else. */
export function describeSystemError(err: unknown): SwarmError | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as SystemError;
  const where = e.address !== undefined ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port ?? '?'}` : undefined;
  switch (e.code) {
    case 'EADDRINUSE':
      return sharedError('SWARM_ERR_ADDRESS_IN_USE', `cannot listen on ${where ?? 'the address'}: another process already listens there; stop it or choose another --listen`, { cause: err });
    case 'EADDRNOTAVAIL':
      return sharedError('SWARM_ERR_ADDRESS_UNAVAILABLE', `cannot listen on ${where ?? 'the address'}: it is not an address of this machine; choose another --listen`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS': {
      if (e.syscall === 'listen' || e.syscall === 'bind') {
        return sharedError('SWARM_ERR_PERMISSION_DENIED', `not allowed to listen on ${where ?? 'the address'} (ports below 1024 need root or CAP_NET_BIND_SERVICE); choose another --listen`, { cause: err });
      }
      const what = e.path ? `${e.path}` : 'a file';
      const why = e.code === 'EROFS' ? 'the filesystem is read-only' : 'permission denied';
      return sharedError('SWARM_ERR_PERMISSION_DENIED', `cannot ${e.syscall ?? 'access'} ${what}: ${why}; run as the user that owns it (or root) or choose another directory`, { cause: err });
    }
    default:
      return undefined;
  }
}
