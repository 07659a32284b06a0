// undici dispatchers for mutual TLS: our identity, only the cluster CA trusted, the server checked by SPIFFE URI.
// Apart from shared/tls.ts so that processes which never dial out (the agent) do not load undici at start.
import { Agent, type Dispatcher } from 'undici';
import type { PeerCertificate } from 'node:tls';
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

/** An undici dispatcher that presents our identity and only trusts the cluster CA. */
export function buildDispatcher(material: TlsMaterial, options: DispatcherOptions): Dispatcher {
  return new Agent({
    connections: options.connections ?? 16,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    connect: {
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      ...TLS_POLICY,
      rejectUnauthorized: true,
      timeout: options.connectTimeoutMs ?? 10_000,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(cert, material.identity.cluster, options.expect)
        ?? (options.isRevoked?.(cert.serialNumber) ? new Error(`server certificate ${cert.serialNumber.toLowerCase()} has been revoked`) : undefined),
    },
  });
}

