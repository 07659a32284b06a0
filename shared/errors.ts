// The error model: stable string codes with HTTP statuses, one catalogue per package area.

export interface ErrorSpec {
  /** HTTP status a server answers with when this error reaches the edge. */
  readonly status: number;
  /** One line for docs/errors.md: what it means. */
  readonly summary: string;
}

/** Every catalogue registered so far, by code; the docs test walks it. */
const registry = new Map<string, ErrorSpec & { area: string }>();

/** An error a person can act on: a stable code, a status, and a one-line message. */
export class SwarmError extends Error {
  readonly code: string;
  /** HTTP status: the catalogue's for this code, else the one given (a remote answer's), else 500. */
  declare readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown>; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwarmError';
    this.code = code;
    const given = options?.status;
    // Looked up when read, not when built: an error made before its catalogue module loaded would otherwise be
    // a 500 for good. An own enumerable property still, so pino's error serializer keeps logging it.
    Object.defineProperty(this, 'status', { enumerable: true, get: () => registry.get(code)?.status ?? given ?? 500 });
    this.details = options?.details;
  }

  /** The wire shape every server answers errors with. */
  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: { ...this.details } } : { code: this.code, message: this.message };
  }
}

export type ErrorFactory<C extends string> = (
  code: C,
  message: string,
  options?: { cause?: unknown; details?: Record<string, unknown> },
) => SwarmError;

/**
 * Register an area's catalogue and return a typed factory for it.
 * Codes are global and never reused: registering one twice throws at load time.
 */
export function defineErrors<const T extends Record<string, ErrorSpec>>(area: string, specs: T): ErrorFactory<Extract<keyof T, string>> {
  for (const [code, spec] of Object.entries(specs)) {
    if (!/^SWARM_ERR_[A-Z0-9_]+$/.test(code)) throw new Error(`error code ${code} does not match SWARM_ERR_[A-Z0-9_]+`);
    if (registry.has(code)) throw new Error(`error code ${code} is defined twice (areas ${registry.get(code)?.area} and ${area})`);
    registry.set(code, { ...spec, area });
  }
  return (code, message, options) => new SwarmError(code, message, options);
}

/** All registered codes, for the docs test and `swarmctl` help. */
export function listErrorCodes(): ReadonlyArray<{ code: string; area: string; status: number; summary: string }> {
  return [...registry.entries()].map(([code, s]) => ({ code, area: s.area, status: s.status, summary: s.summary }));
}

export function isSwarmError(err: unknown): err is SwarmError {
  return err instanceof SwarmError;
}

/** Codes shared by every part: config, usage, requests, TLS material, internal faults. */
export const sharedError = defineErrors('shared', {
  SWARM_ERR_INTERNAL: { status: 500, summary: 'An unexpected fault; the log line with the same request id has the cause.' },
  SWARM_ERR_USAGE: { status: 400, summary: 'A command was called with missing or invalid arguments; see its --help.' },
  SWARM_ERR_BAD_REQUEST: { status: 400, summary: 'A request body, header or parameter failed validation; the message names the field.' },
  SWARM_ERR_NOT_FOUND: { status: 404, summary: 'The route or object does not exist.' },
  SWARM_ERR_PAYLOAD_TOO_LARGE: { status: 413, summary: 'The request body is larger than the server accepts.' },
  SWARM_ERR_RATE_LIMITED: { status: 429, summary: 'Too many requests from this client; wait and retry.' },
  SWARM_ERR_CONFIG_UNREADABLE: { status: 500, summary: 'A config file could not be read (missing, unreadable).' },
  SWARM_ERR_CONFIG_PARSE: { status: 500, summary: 'A config file is not valid JSON.' },
  SWARM_ERR_CONFIG_INVALID: { status: 500, summary: 'A config value is wrong; the message names the file and the field.' },
  SWARM_ERR_ADDRESS_IN_USE: { status: 500, summary: 'A server could not listen: another process already listens on that address and port; stop it or choose another --listen.' },
  SWARM_ERR_ADDRESS_UNAVAILABLE: { status: 500, summary: 'A server could not listen: the address is not one of this machine\'s; choose another --listen.' },
  SWARM_ERR_PERMISSION_DENIED: { status: 500, summary: 'The operating system refused access to a file, directory or port; the message names it; run as the service user (or root) or choose another path.' },
  SWARM_ERR_AUTH_NO_CLIENT_CERT: { status: 401, summary: 'The route needs a verified client certificate and the connection presented none (or an untrusted one).' },
  SWARM_ERR_AUTH_FORBIDDEN: { status: 403, summary: 'The client identity (its SPIFFE URI) is not allowed to call this route.' },
  SWARM_ERR_AUTH_REVOKED: { status: 403, summary: 'The client certificate has been revoked.' },
  SWARM_ERR_IDENTITY_INVALID: { status: 403, summary: 'A certificate has no SPIFFE URI SAN, several, a malformed one, or one from another cluster.' },
  SWARM_ERR_TLS_FILE_MISSING: { status: 500, summary: 'A CA, certificate or key file is missing from the PKI directory.' },
  SWARM_ERR_TLS_FILE_INVALID: { status: 500, summary: 'A CA, certificate or key file cannot be parsed, or the key does not match the certificate.' },
  SWARM_ERR_KEY_PERMISSIONS: { status: 500, summary: 'A private key (or its directory) is readable or writable by others, or belongs to another user; chmod 600 the key and 700 its directory, and chown them to the user that runs the process.' },
  SWARM_ERR_TLS_CA_BUNDLE: { status: 500, summary: 'ca.crt holds more than one certificate, or data besides one PEM certificate; a process trusts exactly the one cluster CA: restore it alone (re-enroll).' },
});
