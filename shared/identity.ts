// Swarm identities: spiffe://<cluster>/<role>/<name>, and the strict parsing of SAN strings into them.
import { sharedError } from './errors.js';
import { NAME_PATTERN } from './names.js';

export const ROLES = ['controller', 'updater', 'agent', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  readonly cluster: string;
  readonly role: Role;
  readonly name: string;
}

/** Cluster names: DNS-label-like, dots allowed (a trust domain). */
export const CLUSTER_PATTERN = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function spiffeUri(id: Identity): string {
  return `spiffe://${id.cluster}/${id.role}/${id.name}`;
}

export function formatIdentity(id: Identity): string {
  return spiffeUri(id);
}

const SPIFFE_RE = /^spiffe:\/\/([a-z0-9.-]+)\/([a-z]+)\/([a-z0-9-]+)$/;

/** Parse one SPIFFE URI; undefined when it is not exactly a Swarm identity. */
export function parseSpiffeUri(uri: string): Identity | undefined {
  const m = SPIFFE_RE.exec(uri);
  if (!m) return undefined;
  const [, cluster, role, name] = m as unknown as [string, string, string, string];
  if (!CLUSTER_PATTERN.test(cluster) || !isRole(role) || !NAME_PATTERN.test(name)) return undefined;
  return Object.freeze({ cluster, role, name });
}

/**
 * Read the identity from a SAN string as Node prints it (`URI:spiffe://c/agent/h1, DNS:h1`).
 * Refuses anything odd: no URI, several URIs, quoted (escaped) entries, another cluster.
 */
export function identityFromSanString(san: string | undefined, expectedCluster?: string): Identity {
  if (!san) throw sharedError('SWARM_ERR_IDENTITY_INVALID', 'certificate has no subjectAltName; it was not issued by a Swarm controller');
  if (san.includes('"')) throw sharedError('SWARM_ERR_IDENTITY_INVALID', 'certificate subjectAltName contains escaped entries; refusing it');
  const uris = san.split(', ').filter((entry) => entry.startsWith('URI:'));
  if (uris.length !== 1 || san.split('URI:').length !== 2) {
    throw sharedError('SWARM_ERR_IDENTITY_INVALID', `certificate must carry exactly one URI SAN, found ${uris.length}`);
  }
  const id = parseSpiffeUri(uris[0]!.slice(4));
  if (!id) throw sharedError('SWARM_ERR_IDENTITY_INVALID', `certificate URI SAN "${uris[0]!.slice(4)}" is not spiffe://<cluster>/<role>/<name>`);
  if (expectedCluster !== undefined && id.cluster !== expectedCluster) {
    throw sharedError('SWARM_ERR_IDENTITY_INVALID', `certificate belongs to cluster "${id.cluster}", not "${expectedCluster}"`);
  }
  return id;
}
