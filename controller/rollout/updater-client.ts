// The controller's client of one host's updater: mTLS that checks the peer is updater/<host>, bounded answers.
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { buildDispatcher } from '../../shared/dispatcher.js';
import { LIMITS } from '../../shared/limits.js';
import type { TlsMaterial } from '../../shared/tls.js';
import { OperationRecordSchema, UpdaterStatusSchema, type OperationRecord, type UpdaterStatus } from '../../shared/wire.js';
import { controllerError } from '../errors.js';
import type { ReleaseBody } from './release-body.js';

/** What the updater's headers need of a release. */
export interface ReleaseMeta {
  id: string;
  version: string;
  size: number;
  /** base64 Ed25519 signature over the id, sent as x-swarm-release-signature. */
  signature: string | null;
}

/** A release as the engine streams it: its bytes, read as they are sent (a file, or chunks from the database). */
export interface ReleaseFile extends ReleaseMeta {
  body: ReleaseBody;
}

/** Where releases come from (the release store provides the real one). */
export interface ReleaseSource {
  /** An id, a unique prefix (8+ hex) or a version; rejects with a coded error when none or several match. */
  resolve(ref: string): Promise<{ id: string; version: string }>;
  /** The release and a fresh body of its bytes (one per push attempt; the caller reads it and closes it). */
  openBody(id: string): Promise<{ release: ReleaseMeta; body: ReleaseBody }>;
}

export interface Answer {
  status: number;
  body: unknown;
}

/** Raised when a request failed before any byte of its body was handed to the connection: nothing arrived. */
export class NotSentError extends Error {
  constructor(override readonly cause: unknown) {
    super(`not sent: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'NotSentError';
  }
}

export interface UpdaterClientOptions {
  material: TlsMaterial;
  host: string;
  /** HOST:PORT of the updater. */
  address: string;
  connectTimeoutMs?: number;
}

/** Read a JSON answer without ever holding more than the records cap. */
async function readJson(res: Dispatcher.ResponseData): Promise<unknown> {
  const max = LIMITS['rollout.records-bytes'].value;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      res.body.destroy();
      throw controllerError('SWARM_ERR_ROLLOUT_PUSH_FAILED', `the updater's answer is larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

export class UpdaterClient {
  readonly host: string;
  readonly #base: string;
  readonly #dispatcher: Dispatcher;

  constructor(options: UpdaterClientOptions) {
    this.host = options.host;
    this.#base = `https://${options.address}`;
    this.#dispatcher = buildDispatcher(options.material, {
      expect: { role: 'updater', name: options.host },
      connections: 2,
      connectTimeoutMs: options.connectTimeoutMs ?? LIMITS['rollout.connect-timeout'].value,
    });
  }

  /**
   * Stream a release (its body is read, then closed whatever happened) to `/v1/update` (or `/v1/self-update`) and wait for the answer, which comes when the operation
   * has ended: the headers may take the whole host deadline. Rejects with NotSentError when nothing of the body left.
   */
  async postRelease(file: ReleaseFile, path: '/v1/update' | '/v1/self-update', options: { headersTimeoutMs: number; signal: AbortSignal; onBodySent?: () => void }): Promise<Answer> {
    let started = false;
    // Pulled only as undici sends: the first chunk taken means bytes may have reached the updater.
    async function* body(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of file.body.chunks) {
          started = true;
          yield chunk;
        }
      } finally {
        options.onBodySent?.();
      }
    }
    try {
      const res = await request(`${this.#base}${path}`, {
        method: 'POST',
        dispatcher: this.#dispatcher,
        // undici sends an async iterable body chunk by chunk (its types list only Readable; its runtime takes iterables).
        body: body() as unknown as Readable,
        headers: {
          'content-type': 'application/gzip',
          'content-length': String(file.size),
          'x-swarm-release-sha256': file.id,
          ...(file.signature ? { 'x-swarm-release-signature': file.signature } : {}),
        },
        headersTimeout: Math.max(1, options.headersTimeoutMs),
        bodyTimeout: LIMITS['rollout.body-idle'].value,
        signal: options.signal,
      });
      return { status: res.statusCode, body: await readJson(res) };
    } catch (err) {
      if (!started || isConnectFailure(err) || failedBeforeTls(err)) throw new NotSentError(err);
      throw err;
    } finally {
      file.body.close();
    }
  }

  /** `GET /v1/operations?release=&kind=&limit=`: records newest first. */
  async listOperations(releaseId: string, kind: OperationRecord['kind'], limit: number, signal: AbortSignal): Promise<OperationRecord[]> {
    const a = await this.#get(`/v1/operations?release=${releaseId}&kind=${kind}&limit=${limit}`, signal);
    if (a.status !== 200 || !Array.isArray(a.body)) throw this.#unexpected('GET /v1/operations', a);
    return a.body.flatMap((r) => {
      const parsed = OperationRecordSchema.safeParse(r);
      return parsed.success ? [parsed.data] : [];
    });
  }

  async getOperation(id: string, signal: AbortSignal): Promise<OperationRecord> {
    const a = await this.#get(`/v1/operations/${encodeURIComponent(id)}`, signal);
    const parsed = OperationRecordSchema.safeParse(a.body);
    if (a.status !== 200 || !parsed.success) throw this.#unexpected(`GET /v1/operations/${id}`, a);
    return parsed.data;
  }

  async health(signal: AbortSignal): Promise<UpdaterStatus> {
    const a = await this.#get('/v1/health', signal);
    const parsed = UpdaterStatusSchema.safeParse(a.body);
    if (a.status !== 200 || !parsed.success) throw this.#unexpected('GET /v1/health', a);
    return parsed.data;
  }

  /** `POST /v1/rollback`: the answer comes when the host is back (or could not be). */
  async rollback(signal: AbortSignal, timeoutMs: number): Promise<Answer> {
    try {
      const res = await request(`${this.#base}/v1/rollback`, {
        method: 'POST', dispatcher: this.#dispatcher, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
      });
      return { status: res.statusCode, body: await readJson(res) };
    } catch (err) {
      throw isConnectFailure(err) || failedBeforeTls(err) ? new NotSentError(err) : err;
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher.destroy().catch(() => undefined);
  }

  async #get(path: string, signal: AbortSignal): Promise<Answer> {
    const timeout = LIMITS['rollout.connect-timeout'].value;
    try {
      const res = await request(`${this.#base}${path}`, { method: 'GET', dispatcher: this.#dispatcher, signal, headersTimeout: timeout, bodyTimeout: timeout });
      return { status: res.statusCode, body: await readJson(res) };
    } catch (err) {
      throw isConnectFailure(err) || failedBeforeTls(err) ? new NotSentError(err) : err;
    }
  }

  #unexpected(what: string, a: Answer): Error {
    const coded = a.body as { code?: unknown; message?: unknown } | null;
    const why = coded && typeof coded.code === 'string' ? `${coded.code}: ${String(coded.message)}` : 'an unexpected answer';
    return controllerError('SWARM_ERR_ROLLOUT_PUSH_FAILED', `${this.host}: ${what} answered ${a.status} (${why})`);
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/**
 * A connection that ended before TLS was up (reset during the handshake): no byte of HTTP left, so the request was
 * not sent, whatever it was.
 */
export function failedBeforeTls(err: unknown): boolean {
  for (let e = err as { code?: string; syscall?: string; message?: string; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.syscall === 'connect' && e.code !== undefined) return true;
    if (typeof e.message === 'string' && e.message.includes('before secure TLS connection was established')) return true;
  }
  return false;
}

/** A request that failed while connecting (refused, timed out, no route): the server never saw it. */
export function isConnectFailure(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.code && CONNECT_CODES.has(e.code)) return true;
  }
  return false;
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ETIMEDOUT']);

/** Nothing was sent and the connection was reset or timed out on the way (not refused, not a wrong peer): worth another try. */
export function isTransientSendFailure(err: NotSentError): boolean {
  if (isConnectFailure(err.cause)) return false;
  for (let e = err.cause as { code?: string; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  }
  return false;
}
