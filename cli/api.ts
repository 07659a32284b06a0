// What swarmctl expects back from the controller (validated: an older or newer controller fails clearly).
import { z } from 'zod';

const isoOrNull = z.string().nullable();

export const AddHostResponseSchema = z.looseObject({ name: z.string(), token: z.string(), caHash: z.string(), expiresAt: z.string() });

export const HostViewSchema = z.looseObject({
  name: z.string(),
  address: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  enrolled: z.boolean(),
  online: z.boolean(),
  lastContact: isoOrNull,
  release: z.string().nullable(),
  version: z.string().nullable(),
  health: z.string().nullable(),
  agent: z.looseObject({ status: z.string(), release: z.string(), version: z.string(), certNotAfter: isoOrNull }).nullable(),
  updater: z.looseObject({
    status: z.string(), version: z.string(), active: z.object({ id: z.string(), version: z.string() }).nullable(),
    lastOperation: z.object({ id: z.string(), kind: z.string(), state: z.string() }).nullable(), certNotAfter: isoOrNull,
  }).nullable(),
  certExpiry: isoOrNull,
  channels: z.object({ agent: z.boolean(), updater: z.boolean() }),
});
export type HostViewJson = z.output<typeof HostViewSchema>;

export const CertificateSchema = z.looseObject({
  serial: z.string(), role: z.string(), name: z.string(), identity: z.string(),
  notBefore: z.string(), notAfter: z.string(), issuedAt: z.string(), revokedAt: isoOrNull, state: z.string(),
});

export const HostDetailSchema = HostViewSchema.extend({ certificates: z.array(CertificateSchema), reports: z.object({ agent: z.unknown(), updater: z.unknown() }) });

export const RemoveResponseSchema = z.looseObject({ name: z.string(), removed: z.boolean(), revoked: z.array(z.string()) });

export const OperatorIssuedSchema = z.looseObject({ name: z.string(), cert: z.string(), ca: z.string(), notAfter: z.string() });

export const StatusSchema = z.looseObject({
  cluster: z.string(),
  hosts: z.object({ total: z.number(), enrolled: z.number(), online: z.number(), offline: z.number(), pending: z.number() }),
  health: z.record(z.string(), z.number()),
  releases: z.array(z.object({ release: z.string(), version: z.string().nullable(), hosts: z.number() })),
  channels: z.object({ agent: z.number(), updater: z.number() }),
  certificates: z.object({ active: z.number(), revoked: z.number(), expiringSoon: z.number() }),
});

export const AuditSchema = z.array(z.looseObject({ id: z.number(), at: z.string(), actor: z.string(), action: z.string(), target: z.string(), details: z.record(z.string(), z.unknown()) }));
