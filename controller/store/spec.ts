// Which store engine a controller uses: SQLite in the state directory (the default), or PostgreSQL named by a
// `--store postgres://...` URL. The URL may carry a password: it is never logged, printed or written; what is shown
// is `redactStoreUrl`'s form.
import { z } from 'zod';

export type StoreSpec = { engine: 'sqlite' } | { engine: 'postgres'; url: string };

const isPostgresUrl = (value: string): boolean => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && (url.hostname !== '' || url.searchParams.has('host')) && url.pathname.length > 1;
};

/**
 * The `--store` option: a postgres:// (or postgresql://) URL with a host and a database name. The message never
 * repeats the value (it may hold a password).
 */
export const StoreUrlSchema = z.string().refine(isPostgresUrl, {
  message: 'must be a PostgreSQL URL, postgres://USER@HOST[:PORT]/DATABASE (or postgres:///DATABASE?host=/SOCKET/DIR) (the password is best kept in PGPASSWORD or ~/.pgpass); leave --store out for SQLite in the state directory',
});

/** The spec for an optional `--store` value. */
export function storeSpec(url: string | undefined): StoreSpec {
  return url === undefined ? { engine: 'sqlite' } : { engine: 'postgres', url };
}

/** The URL without its password or query (which may carry one): what may be shown, logged or written to disk. */
export function redactStoreUrl(value: string): string {
  try {
    const url = new URL(value);
    const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
    return `${url.protocol}//${user}${url.host}${url.pathname}`;
  } catch {
    return 'postgres://(an unparseable URL)';
  }
}
