// The controller's error catalogue (and the client-side "remote" codes, registered here so the docs test sees them).
import { defineErrors } from '../shared/errors.js';
import '../shared/remote-errors.js';

export const controllerError = defineErrors('controller', {
  SWARM_ERR_ENROLL_REFUSED: { status: 403, summary: 'Enrollment refused: the join token is unknown, expired, used or not for this name, or the name cannot be enrolled. Ask the operator for a new token (swarmctl host add).' },
  SWARM_ERR_CHANNEL_RATE_LIMITED: { status: 429, summary: 'A host sent channel reports faster than its budget; they were dropped, and past a threshold the channel was closed with 4429. Find what makes the host report in a loop.' },
  SWARM_ERR_ENROLL_BUSY: { status: 429, summary: 'The controller takes at most a set number of enrollments a minute from all clients together (a distributed flood cannot burn its CPU); retry after the Retry-After delay.' },
  SWARM_ERR_HOST_NOT_FOUND: { status: 404, summary: 'No host of that name is registered; see swarmctl host list.' },
  SWARM_ERR_TOKEN_NOT_FOUND: { status: 404, summary: 'The host has no pending (unused, unexpired) join token; see swarmctl token list.' },
  SWARM_ERR_HOST_EXISTS: { status: 409, summary: 'A host of that name is already enrolled; remove it first (swarmctl host remove) or pick another name.' },
  SWARM_ERR_HOST_NAME_INVALID: { status: 400, summary: 'A host or operator name is malformed or reserved; use 1-63 lowercase letters, digits and -.' },
  SWARM_ERR_LABEL_INVALID: { status: 400, summary: 'A label is not KEY=VALUE (key: letters, digits, . _ / -; value up to 63 characters).' },
  SWARM_ERR_OPERATOR_NOT_FOUND: { status: 404, summary: 'No operator of that name holds a valid certificate; see swarmctl cert list.' },
  SWARM_ERR_OPERATOR_EXISTS: { status: 409, summary: 'An operator of that name already holds a valid certificate; remove it first or pick another name.' },
  SWARM_ERR_OPERATOR_SELF_REMOVE: { status: 409, summary: 'An operator cannot remove itself (that would lock it out mid-command); use another operator identity.' },
  SWARM_ERR_RENEW_KEY_REUSED: { status: 400, summary: 'A renewal CSR carries the key of the current certificate (or of an earlier one of the same identity); renewals need a freshly generated key.' },
  SWARM_ERR_RENEW_KEY_IN_USE: { status: 400, summary: 'A renewal CSR carries a key certified for another identity (the updater renewing with the agent\'s key, say); each identity needs its own freshly generated key.' },
  SWARM_ERR_RENEW_REFUSED: { status: 403, summary: 'The certificate presented for renewal is not one this controller issued to an active identity; re-enroll.' },
  SWARM_ERR_STATE_DIR_EXISTS: { status: 409, summary: 'swarm-controller init found an existing state directory; refusing to overwrite it.' },
  SWARM_ERR_STATE_DIR_INVALID: { status: 500, summary: 'The controller state directory is missing files or holds unreadable ones; run swarm-controller init or restore it.' },
  SWARM_ERR_STATE_DIR_PERMISSIONS: { status: 500, summary: 'The state directory, a parent of it, pki/ or a file in it can be written by other users, belongs to another user, or exposes secrets (the database, keys) to them; the message names the path and the chmod or chown to run.' },
  SWARM_ERR_STORE: { status: 500, summary: 'The database could not be opened or migrated (locked, corrupt, newer schema), or the store was used after it was closed.' },
  SWARM_ERR_ROLLOUT_NOT_FOUND: { status: 404, summary: 'No rollout has that id; see swarmctl rollout list.' },
  SWARM_ERR_ROLLOUT_STATE: { status: 409, summary: 'The rollout is not in a state that allows this (pause a done rollout, resume one that is not paused); the message says its state.' },
  SWARM_ERR_ROLLOUT_NO_HOSTS: { status: 400, summary: 'The rollout\'s targets (--all, --hosts, --selector) match no enrolled host.' },
  SWARM_ERR_ROLLOUT_HOST_UNREACHABLE: { status: 503, summary: 'A host\'s updater could not be reached (its channel is down, it has no address, or the connection was refused or timed out) before anything was sent; nothing changed on it.' },
  SWARM_ERR_ROLLOUT_PUSH_UNSETTLED: { status: 504, summary: 'The connection to an updater dropped (or a restart found the host pushing) and its operation records could not be read within the deadline; the host settles by itself, see swarmctl host show.' },
  SWARM_ERR_ROLLOUT_PUSH_FAILED: { status: 502, summary: 'An updater answered a push or rollback with something the controller does not understand (no record, no error code); the message has the status.' },
  SWARM_ERR_ROLLBACK_TARGET_MISMATCH: { status: 409, summary: 'rollback --rollout: the host no longer runs that rollout\'s release, or its previous release is not what it ran before the rollout (it was updated again since); it is not sent further back.' },
});
