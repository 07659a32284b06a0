// The operator API's wire types (controller <-> swarmctl): request bodies and responses, one zod schema each.
// Responses are loose objects: swarmctl validates what it reads and keeps fields a newer controller adds.
import { z } from 'zod';
import { ROLES } from './identity.js';
import { LIMITS } from './limits.js';

const IsoOrNull = z.string().nullable();

// -- requests --

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$/;
/** HOST[:PORT] with a port from 1 to 65535 (a port past the range was stored and failed every push). */
export const HostAddressSchema = z.string().regex(ADDRESS, 'must be HOST[:PORT]').refine((a) => {
  const port = /:(\d{1,5})$/.exec(a)?.[1];
  return port === undefined || /^[0-9a-fA-F:]+$/.test(a) || (Number(port) >= 1 && Number(port) <= 65535);
}, 'the port must be from 1 to 65535');

const LabelsSchema = z.record(z.string().max(256), z.string().max(256));

/** `POST /v1/hosts` (host add). */
export const AddHostRequestSchema = z.object({
  name: z.string(),
  address: HostAddressSchema.optional(),
  labels: LabelsSchema.optional(),
  /** How long the join token lasts (default: the controller's, 15 minutes). */
  tokenTtlMs: z.number().int().min(LIMITS['join.tokenTtlMin'].value).max(LIMITS['join.tokenTtlMax'].value).optional(),
}).strict();
export type AddHostRequest = z.input<typeof AddHostRequestSchema>;

/** `PATCH /v1/hosts/:name/address` (host set-address; null forgets it). */
export const SetAddressRequestSchema = z.object({ address: HostAddressSchema.nullable() }).strict();
export type SetAddressRequest = z.input<typeof SetAddressRequestSchema>;

/** `PATCH /v1/hosts/:name/labels` (host label: K=V sets, K- removes). */
export const LabelRequestSchema = z.object({ set: LabelsSchema.default({}), remove: z.array(z.string().max(256)).default([]) }).strict();
export type LabelRequest = z.input<typeof LabelRequestSchema>;

/** `POST /v1/operators` (operator add): the new operator's CSR; its key never leaves swarmctl. */
export const AddOperatorRequestSchema = z.object({ name: z.string(), csr: z.string().min(1).max(64 * 1024) }).strict();
export type AddOperatorRequest = z.input<typeof AddOperatorRequestSchema>;

// -- responses --

/** `POST /v1/hosts`: the join token, shown once. */
export const AddHostResponseSchema = z.looseObject({ name: z.string(), token: z.string(), caHash: z.string(), expiresAt: z.string() });
export type AddHostResponse = z.output<typeof AddHostResponseSchema>;

/** What operators see of a host (`GET /v1/hosts`, and the answer of every host change). */
export const HostViewSchema = z.looseObject({
  name: z.string(),
  address: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  enrolled: z.boolean(),
  online: z.boolean(),
  lastContact: IsoOrNull,
  /** The release id the agent runs (from its report; the updater's active release otherwise). */
  release: z.string().nullable(),
  version: z.string().nullable(),
  health: z.string().nullable(),
  agent: z.looseObject({ status: z.string(), release: z.string(), version: z.string(), certNotAfter: IsoOrNull, reportedAt: z.string() }).nullable(),
  updater: z.looseObject({
    status: z.string(), version: z.string(),
    active: z.object({ id: z.string(), version: z.string() }).nullable(),
    prev: z.object({ id: z.string(), version: z.string() }).nullable(),
    running: z.string().nullable(),
    lastOperation: z.object({ id: z.string(), kind: z.string(), state: z.string() }).nullable(),
    certNotAfter: IsoOrNull,
    reportedAt: z.string(),
  }).nullable(),
  /** The earliest expiry among the host's current (newest, unrevoked) certificates. */
  certExpiry: IsoOrNull,
  channels: z.object({ agent: z.boolean(), updater: z.boolean() }),
});
export type HostView = z.output<typeof HostViewSchema>;

/** A certificate as operators see it (`GET /v1/certificates`, `GET /v1/hosts/:name`): one shape for both routes. */
export const CertificateViewSchema = z.looseObject({
  serial: z.string(),
  role: z.enum(ROLES),
  name: z.string(),
  identity: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  issuedAt: z.string(),
  revokedAt: IsoOrNull,
  state: z.enum(['valid', 'expired', 'revoked']),
});
export type CertificateView = z.output<typeof CertificateViewSchema>;

/** `GET /v1/hosts/:name`: the view, the host's certificates and its latest raw reports. */
export const HostDetailSchema = HostViewSchema.extend({
  certificates: z.array(CertificateViewSchema),
  reports: z.object({ agent: z.unknown(), updater: z.unknown() }),
});
export type HostDetail = z.output<typeof HostDetailSchema>;

/** `GET /v1/tokens`: pending join tokens, never the secret. */
export const TokenViewSchema = z.looseObject({ name: z.string(), createdAt: z.string(), expiresAt: z.string() });
export type TokenView = z.output<typeof TokenViewSchema>;

/** `DELETE /v1/tokens/:name`: how many pending tokens stopped working. */
export const RevokeTokensResponseSchema = z.looseObject({ name: z.string(), revoked: z.number() });
export type RevokeTokensResponse = z.output<typeof RevokeTokensResponseSchema>;

/** `DELETE /v1/hosts/:name` and `DELETE /v1/operators/:name`: the serials revoked. */
export const RemoveResponseSchema = z.looseObject({ name: z.string(), removed: z.boolean(), revoked: z.array(z.string()) });
export type RemoveResponse = z.output<typeof RemoveResponseSchema>;

/** `POST /v1/operators`: the new operator's certificate and the CA to trust. */
export const OperatorIssuedSchema = z.looseObject({ name: z.string(), cert: z.string(), ca: z.string(), notAfter: z.string() });
export type OperatorIssued = z.output<typeof OperatorIssuedSchema>;

/** `GET /v1/status`: the fleet summary. */
export const FleetStatusSchema = z.looseObject({
  cluster: z.string(),
  hosts: z.object({ total: z.number(), enrolled: z.number(), online: z.number(), offline: z.number(), pending: z.number() }),
  health: z.record(z.string(), z.number()),
  releases: z.array(z.object({ release: z.string(), version: z.string().nullable(), hosts: z.number() })),
  channels: z.object({ agent: z.number(), updater: z.number() }),
  certificates: z.object({ active: z.number(), revoked: z.number(), expiringSoon: z.number() }),
});
export type FleetStatus = z.output<typeof FleetStatusSchema>;

/** One entry of `GET /v1/audit`. */
export const AuditEntrySchema = z.looseObject({ id: z.number(), at: z.string(), actor: z.string(), action: z.string(), target: z.string(), details: z.record(z.string(), z.unknown()) });
export type AuditEntryView = z.output<typeof AuditEntrySchema>;
export const AuditSchema = z.array(AuditEntrySchema);
