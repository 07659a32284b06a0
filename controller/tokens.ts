// Join tokens: `<host>.<32 random bytes base64url>`; only their sha256 is stored.
import { createHash, randomBytes } from 'node:crypto';

export const DEFAULT_JOIN_TOKEN_TTL_MS = 15 * 60_000;

export function generateJoinToken(hostName: string): string {
  return `${hostName}.${randomBytes(32).toString('base64url')}`;
}

export function hashJoinToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
