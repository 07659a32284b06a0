// Revocation notices between replicas on PostgreSQL: NOTIFY on the pool, LISTEN on a dedicated connection outside it
// (a pooled connection is shared and released, a listening one must stay), reconnected with backoff; after each
// (re)connect the listener asks for a re-read, since notices sent while it was away are lost.
import type { Client, Notification } from 'pg';
import { z } from 'zod';
import { backoffDelay } from '../../shared/backoff.js';
import { LIMITS } from '../../shared/limits.js';
import { formatZodIssues } from '../../shared/validation.js';
import type { RevocationFeed, RevocationFeedHandlers, RevocationNotice } from './store.js';

/** The NOTIFY channel (an identifier, not a secret); the payload is one JSON chunk of a notice. */
export const REVOCATION_CHANNEL = 'swarm_revoked';

const ChunkSchema = z.object({
  o: z.string().min(1).max(200),
  h: z.string().min(1).max(253).optional(),
  s: z.array(z.string().regex(/^[0-9a-fA-F]{1,64}$/)).max(1000),
});
type Chunk = z.infer<typeof ChunkSchema>;

/**
 * A notice as payloads under PostgreSQL's NOTIFY limit (8000 bytes): serials split over several chunks, each naming
 * the origin and the host, so each chunk is a notice of its own.
 */
export function chunkNotice(notice: RevocationNotice, maxBytes: number = LIMITS['revocation.notify-payload-bytes'].value): string[] {
  const head: Chunk = { o: notice.origin, ...(notice.host !== undefined ? { h: notice.host } : {}), s: [] };
  const base = Buffer.byteLength(JSON.stringify(head));
  const chunks: string[] = [];
  let serials: string[] = [];
  let size = base;
  for (const serial of notice.serials) {
    const cost = Buffer.byteLength(JSON.stringify(serial)) + 1;
    if (serials.length > 0 && (size + cost > maxBytes || serials.length >= 1000)) {
      chunks.push(JSON.stringify({ ...head, s: serials }));
      serials = [];
      size = base;
    }
    serials.push(serial);
    size += cost;
  }
  if (serials.length > 0 || chunks.length === 0) chunks.push(JSON.stringify({ ...head, s: serials }));
  return chunks;
}

/** One payload back as a notice; throws naming what is wrong. */
export function readChunk(payload: string): RevocationNotice {
  const parsed = ChunkSchema.safeParse(JSON.parse(payload));
  if (!parsed.success) throw new Error(`unreadable revocation notice: ${formatZodIssues(parsed.error)}`);
  const { o, h, s } = parsed.data;
  return { origin: o, serials: s, ...(h !== undefined ? { host: h } : {}) };
}

export interface PgFeedParts {
  /** A new, unconnected client for the listening connection. */
  newClient(): Client;
  /** Send one payload on the channel (the pool: `SELECT pg_notify($1, $2)`). */
  notify(channel: string, payload: string): Promise<void>;
  /** Called once the feed is closed (the store forgets it). */
  onClosed(): void;
}

/** Start listening (resolves once the first attempt ended, connected or not: a failed one retries in the background). */
export async function openPgRevocationFeed(parts: PgFeedParts, handlers: RevocationFeedHandlers): Promise<RevocationFeed> {
  const policy = { baseMs: LIMITS['revocation.notify-backoff-base'].value, capMs: LIMITS['revocation.notify-backoff-max'].value, jitter: 'equal' as const };
  let closed = false;
  let client: Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let attempt = 0;

  const onNotification = (msg: Notification): void => {
    if (msg.channel !== REVOCATION_CHANNEL || msg.payload === undefined) return;
    let notice: RevocationNotice;
    try {
      notice = readChunk(msg.payload);
    } catch (err) {
      handlers.error(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    handlers.notice(notice);
  };

  const drop = (c: Client, err?: Error): void => {
    if (client !== c) return; // an older connection's late event
    client = undefined;
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
    if (closed) return;
    handlers.error(err ?? new Error('the revocation listener\'s connection ended'));
    retry = setTimeout(() => void connect(), backoffDelay(attempt++, policy));
    retry.unref();
  };

  const connect = async (): Promise<void> => {
    retry = undefined;
    if (closed) return;
    const c = parts.newClient();
    client = c;
    c.on('error', (err: Error) => drop(c, err));
    c.on('end', () => drop(c));
    c.on('notification', onNotification);
    try {
      await c.connect();
      await c.query(`LISTEN ${REVOCATION_CHANNEL}`);
    } catch (err) {
      drop(c, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (client !== c) return;
    attempt = 0;
    // Listening from here on: what was revoked before (or while away) is read once now.
    handlers.resync();
  };

  await connect();
  return {
    async publish(notice) {
      for (const payload of chunkNotice(notice)) await parts.notify(REVOCATION_CHANNEL, payload);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners('notification');
        await c.end().catch(() => undefined);
      }
      parts.onClosed();
    },
  };
}
