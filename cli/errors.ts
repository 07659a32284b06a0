// swarmctl's error catalogue.
import { defineErrors } from '../shared/errors.js';
import '../shared/remote-errors.js';

export const cliError = defineErrors('cli', {
  SWARM_ERR_CLI_NO_IDENTITY: { status: 400, summary: 'swarmctl has no operator identity: pass --identity DIR or set SWARMCTL_IDENTITY (a directory with ca.crt, operator.crt, operator.key).' },
  SWARM_ERR_CLI_IDENTITY_EXPIRED: { status: 401, summary: 'The operator certificate has expired; get a new identity from another operator (swarmctl operator add) or on the controller host (swarm-controller issue-operator).' },
  SWARM_ERR_CLI_OUT_EXISTS: { status: 409, summary: 'The --out directory already holds an identity; pick an empty or new directory.' },
  SWARM_ERR_CLI_FILE_EXISTS: { status: 409, summary: 'The file swarmctl would write already exists (a key, say); it is never overwritten: choose another --out or remove it.' },
  SWARM_ERR_CLI_FILE_UNREADABLE: { status: 400, summary: 'A file named on the command line cannot be read or is not what it should be (a --sign-key that is not an Ed25519 private key, say).' },
  SWARM_ERR_CLI_ROLLOUT_NOT_DONE: { status: 409, summary: 'The followed rollout stopped without every host updated: paused (canary failed, budget exceeded, an operator or a rollback), aborted, or done with failures; the line says which, swarmctl rollout status ID shows each host.' },
  SWARM_ERR_CLI_ROLLBACK_INCOMPLETE: { status: 409, summary: 'A fleet rollback ended with hosts not rolled back (failed or unreachable); the report lists each host and its reason.' },
  SWARM_ERR_CLI_STREAM_LOST: { status: 503, summary: 'swarmctl lost a rollout\'s event stream and could not reconnect within its retries; the rollout goes on at the controller: watch it again with swarmctl rollout watch ID.' },
});
