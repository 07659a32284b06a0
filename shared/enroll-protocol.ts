// Enrollment and renewal wire schemas: POST /v1/enroll (join token + two CSRs), POST /v1/pki/renew.
import { z } from 'zod';
import { NAME_PATTERN } from './names.js';

/** CSRs are PEM; the pki layer enforces its own, tighter size limit with a precise error. */
const CsrPem = z.string().min(1).max(64 * 1024);

export const EnrollRequestSchema = z.object({
  token: z.string().min(1).max(512),
  name: z.string().regex(NAME_PATTERN, 'must be a host name'),
  updaterCsr: CsrPem,
  agentCsr: CsrPem,
});
export type EnrollRequest = z.output<typeof EnrollRequestSchema>;

export const EnrollResponseSchema = z.object({
  cluster: z.string(),
  name: z.string(),
  ca: z.string(),
  updater: z.string(),
  agent: z.string(),
});
export type EnrollResponse = z.output<typeof EnrollResponseSchema>;

export const RenewRequestSchema = z.object({ csr: CsrPem });
export const RenewResponseSchema = z.object({ cert: z.string(), ca: z.string(), notAfter: z.string() });
export type RenewResponse = z.output<typeof RenewResponseSchema>;

/**
 * Join tokens are `<host name>.<43 chars base64url of 32 random bytes>`: the host learns its name from
 * the token, and the controller stores only sha256(token).
 */
export const JOIN_TOKEN_PATTERN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\.([A-Za-z0-9_-]{43})$/;

/** The host name a token is bound to, or undefined when it is not a well-formed token. */
export function nameFromJoinToken(token: string): string | undefined {
  return JOIN_TOKEN_PATTERN.exec(token)?.[1];
}
