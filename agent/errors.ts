// The agent's error catalogue: startup faults an operator must act on (listen, release files, identity).
import { defineErrors } from '../shared/errors.js';

export const agentError = defineErrors('agent', {
  SWARM_ERR_AGENT_LISTEN_IN_USE: { status: 500, summary: 'The agent\'s listen address is already in use; stop the other process or pick another --listen / SWARM_AGENT_LISTEN.' },
  SWARM_ERR_AGENT_LISTEN_FAILED: { status: 500, summary: 'The agent could not listen on its address (not local, or not permitted); check --listen / SWARM_AGENT_LISTEN.' },
  SWARM_ERR_AGENT_PKI_UNREADABLE: { status: 500, summary: 'A file in the agent\'s PKI directory exists but cannot be read (permissions); let the swarm-agent user read it.' },
  SWARM_ERR_AGENT_IDENTITY_ROLE: { status: 500, summary: 'agent.crt does not carry an agent identity (spiffe://<cluster>/agent/<host>); re-enroll the host.' },
  SWARM_ERR_AGENT_MANIFEST_INVALID: { status: 500, summary: 'swarm-release.json in the agent\'s working directory is not valid JSON or not a valid manifest; the message names the field.' },
  SWARM_ERR_AGENT_SIDECAR_INVALID: { status: 500, summary: '.swarm-release.json in the agent\'s working directory is damaged; reinstall the release with the updater.' },
  SWARM_ERR_AGENT_COMMAND_INVALID: { status: 500, summary: 'A service\'s command[0] is missing from the release or resolves (through links) outside it.' },
});
