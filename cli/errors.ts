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
  SWARM_ERR_DASHBOARD_NO_TOKEN: { status: 401, summary: 'A request to swarmctl dashboard came without its token (or with a wrong one); open the URL the dashboard printed as its first line, which carries it.' },
  SWARM_ERR_DASHBOARD_FOREIGN_HOST: { status: 421, summary: 'A request to swarmctl dashboard named another Host than the dashboard\'s own loopback address (DNS rebinding); open the printed URL as it is.' },
  SWARM_ERR_DASHBOARD_FOREIGN_ORIGIN: { status: 403, summary: 'A request to swarmctl dashboard came from a page of another origin; only the dashboard\'s own page may call it.' },
  SWARM_ERR_DASHBOARD_READ_ONLY: { status: 405, summary: 'swarmctl dashboard only reads (GET); changes are made with the swarmctl commands the page shows.' },
  SWARM_ERR_DASHBOARD_NOT_LOOPBACK: { status: 400, summary: 'swarmctl dashboard listens on loopback only (127.0.0.1, ::1 or localhost); reach it from elsewhere through an SSH tunnel.' },
  SWARM_ERR_DASHBOARD_BUSY: { status: 503, summary: 'swarmctl dashboard already serves its maximum of live browser streams (dashboard.max-streams); close some tabs.' },
  SWARM_ERR_DASHBOARD_PAGE_MISSING: { status: 500, summary: 'The dashboard page was not built (dist/dashboard is missing); run npm run build.' },
});
