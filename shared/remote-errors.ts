// Errors of clients that call the controller (join, renewal, channels, swarmctl): reaching and trusting it.
import { defineErrors, SwarmError } from './errors.js';

export const remoteError = defineErrors('remote', {
  SWARM_ERR_CONTROLLER_UNREACHABLE: { status: 503, summary: 'The controller cannot be reached (refused, timed out, DNS); check --controller and that swarm-controller serve runs.' },
  SWARM_ERR_CONTROLLER_UNTRUSTED: { status: 502, summary: 'The server at --controller did not prove the controller identity of this cluster (wrong CA or not a controller certificate).' },
  SWARM_ERR_CONTROLLER_RESPONSE: { status: 502, summary: 'The controller answered something this client does not understand; versions may differ.' },
});

/** Map a network/TLS failure of a call to the controller to an actionable error. */
export function describeRemoteFailure(err: unknown, url: string): Error {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code ?? '';
  const message = e.cause?.message ?? e.message ?? String(err);
  if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|expected a controller|SPIFFE|subjectAltName/i.test(`${code} ${message}`)) {
    return remoteError('SWARM_ERR_CONTROLLER_UNTRUSTED', `controller at ${url} is not trusted: ${message}`, { cause: err });
  }
  return remoteError('SWARM_ERR_CONTROLLER_UNREACHABLE', `cannot reach the controller at ${url} (${code || message}); check --controller and that it is running`, { cause: err });
}

/**
 * An error answer (`{ code, message }`) from another Swarm process: its code kept as it came, even one this build does
 * not know (a newer peer). The status is this build's catalogue's for a known code, else the status it was answered with.
 */
export function remoteAnswerError(answer: { code: string; message: string }, status?: number): SwarmError {
  return new SwarmError(answer.code, answer.message, status === undefined ? undefined : { status });
}
