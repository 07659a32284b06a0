// undici dispatchers for mutual TLS: our identity, only the cluster CA trusted, the server checked by SPIFFE URI.
// Apart from shared/tls.ts so that processes which never dial out (the agent) do not load undici at start.
import { Agent, type Dispatcher } from 'undici';
import { createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import { checkServerIdentity, type ServerExpectation, type TlsMaterial } from './tls.js';
import { TLS_POLICY } from './tls-policy.js';

export interface DispatcherOptions {
  expect: ServerExpectation;
  connections?: number;
  connectTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** Refuse a server whose certificate serial is revoked (a host's denylist): checked at every handshake. */
  isRevoked?: (serial: string) => boolean;
}

/**
 * One secure context per identity (renewal brings a new TlsMaterial object, so a new context): without it every
 * connection parses the CA, certificate and key again, and a controller pushing to a whole wave holds one OpenSSL
 * context per connection.
 */
const contexts = new WeakMap<TlsMaterial, SecureContext>();

function secureContextOf(material: TlsMaterial): SecureContext {
  let ctx = contexts.get(material);
  if (!ctx) contexts.set(material, (ctx = createSecureContext({ ca: material.ca, cert: material.cert, key: material.key, ...TLS_POLICY })));
  return ctx;
}

/** An undici dispatcher that presents our identity and only trusts the cluster CA. */
export function buildDispatcher(material: TlsMaterial, options: DispatcherOptions): Dispatcher {
  return new Agent({
    connections: options.connections ?? 16,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    connect: {
      secureContext: secureContextOf(material),
      ...TLS_POLICY,
      rejectUnauthorized: true,
      timeout: options.connectTimeoutMs ?? 10_000,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(cert, material.identity.cluster, options.expect)
        ?? (options.isRevoked?.(cert.serialNumber) ? new Error(`server certificate ${cert.serialNumber.toLowerCase()} has been revoked`) : undefined),
    },
  });
}

