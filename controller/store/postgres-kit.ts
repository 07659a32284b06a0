// What the PostgreSQL engine's modules share: named statements, the transaction runner with its retries, the jsonb
// codec and the advisory lock keys.
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { LIMITS } from '../../shared/limits.js';
import type { JsonCodec } from './rows.js';

/** A statement prepared once per connection under its name. */
export interface PgStatement { name: string; text: string }
export const pgStatement = (name: string, text: string): PgStatement => ({ name: `swarm_${name}`, text });

/** Anything a statement runs on: the pool (one autocommitted statement) or a client inside a transaction. */
export interface Queryable { query<R extends QueryResultRow>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[]; rowCount: number | null }> }

export const run = <R extends QueryResultRow>(on: Queryable, s: PgStatement, ...values: unknown[]) => on.query<R>({ name: s.name, text: s.text, values });

/**
 * jsonb arrives parsed and goes in as JSON text. PostgreSQL's jsonb cannot hold U+0000 (SQLite's JSON text could):
 * a NUL inside a string is stored as U+FFFD, so one odd report cannot fail a whole batch.
 */
export const PG_JSON: JsonCodec = {
  decode: (v) => v,
  encode: (v) => JSON.stringify(v).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd'),
  flag: (v) => v,
};

/** Advisory lock keys (class, key): the class keeps Swarm's locks apart from any other user of the database. */
export const LOCK_CLASS = 0x53574d00; // "SWM\0"
export const LOCK_KEY = { migrate: 1, audit: 2 } as const;
/** Per-identity locks (recordIssued, revokeIdentity) use their own class, keyed by hashtext of "role/name". */
export const IDENTITY_LOCK_CLASS = 0x53574d01;

/** Thrown inside a transaction to roll it back and answer `value` (a refusal). */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

const RETRYABLE = new Set(['40001', '40P01']);

/** Run `fn` in one transaction (READ COMMITTED; the rows it checks are locked); retried on deadlock or serialization failure. */
export async function inTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error(String(e));
      });
      if (err instanceof Rollback) return err.value as T;
      const code = (err as { code?: unknown }).code;
      // Not an error the server answered (no SQLSTATE): the connection itself failed; it is not reused.
      if (!(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))) broken ??= err instanceof Error ? err : new Error(String(err));
      if (typeof code === 'string' && RETRYABLE.has(code) && attempt < LIMITS['store.postgres.transaction-attempts'].value) continue;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}
