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
  SWARM_ERR_ROLLOUT_NOT_FOUND: { status: 404, summary: 'No rollout has that id; see swarmctl rollout list.' },
  SWARM_ERR_ROLLOUT_STATE: { status: 409, summary: 'The rollout is not in a state that allows this action (pause or resume of a done or aborted rollout, resume of one that is not paused); see swarmctl rollout status ID.' },
  SWARM_ERR_RELEASE_NOT_FOUND: { status: 404, summary: 'No uploaded release matches that id, id prefix (8 hex or more) or version; see swarmctl release list.' },
  SWARM_ERR_RELEASE_AMBIGUOUS: { status: 409, summary: 'The release reference matches several releases (a short prefix or a version uploaded twice); the message lists them: give the full id.' },
  SWARM_ERR_ROLLOUT_TARGETS: { status: 400, summary: 'The rollout or rollback selects no host, or names hosts that are not registered; see swarmctl host list.' },
  SWARM_ERR_ROLLOUTS_UNAVAILABLE: { status: 503, summary: 'This controller runs without a rollout engine (a build or configuration without one); rollouts and fleet rollback cannot be served.' },
  SWARM_ERR_STORE: { status: 500, summary: 'The database could not be opened or migrated (locked, corrupt, newer schema), or the store was used after it was closed.' },
});
