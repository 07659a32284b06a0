// Revocation on a host (agent, updater): the denylist the controller pushes and the CRL confirms, enforced on every
// request and on live connections, and persisted where the process may write (the updater's state directory).
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import { z } from 'zod';
import type { Logger } from 'pino';
import { pkiError, verifyCrl } from '../pki/verify.js';
import { SerialSchema } from '../shared/channel-protocol.js';
import { writeFileAtomic } from '../shared/files.js';
import { Denylist, SocketRegistry, trackClientSockets } from '../shared/revocation.js';
import { formatZodIssues } from '../shared/validation.js';

const StateFileSchema = z.strictObject({
  /** The highest CRL number applied: an older CRL (a replay) is refused. */
  crlNumber: z.number().int().nonnegative(),
  serials: z.array(SerialSchema),
});

export interface HostRevocationOptions {
  cluster: string;
  /** The pinned cluster CA (ca.crt): the only key a CRL may be signed with. */
  caPem: string;
  /** Where the denylist persists across restarts; without it the list lives in memory (the agent). */
  file?: string;
  logger: Logger;
}

export class HostRevocation {
  readonly #o: HostRevocationOptions;
  readonly #denylist = new Denylist();
  readonly #sockets = new SocketRegistry();
  #crlNumber = 0;
  #writing: Promise<void> = Promise.resolve();

  private constructor(options: HostRevocationOptions) {
    this.#o = options;
  }

  /** Load the persisted denylist (a missing file is an empty list; an unreadable one is logged and replaced). */
  static async open(options: HostRevocationOptions): Promise<HostRevocation> {
    const r = new HostRevocation(options);
    if (options.file) await r.#load(options.file);
    return r;
  }

  /** For identityGuard: is this client serial revoked? */
  readonly isRevoked = (serial: string): boolean => this.#denylist.has(serial);

  get size(): number {
    return this.#denylist.size;
  }

  get crlNumber(): number {
    return this.#crlNumber;
  }

  /** Track the server's client sockets so a revocation cuts live connections, not only new requests. */
  attach(server: Server): void {
    trackClientSockets(server, this.#o.cluster, this.#sockets);
  }

  /** Refuse these serials from now on and cut their live connections; returns the serials that were new. */
  async revoke(serials: readonly string[], source: 'channel' | 'crl'): Promise<string[]> {
    const added = this.#denylist.add(serials);
    if (added.length === 0) return added;
    const cut = this.#sockets.destroy(added);
    this.#o.logger.info({ op: 'revoke', source, serials: added, cut }, `refusing ${added.length} revoked serial(s)`);
    await this.#persist();
    return added;
  }

  /**
   * Apply a fetched CRL: only when the pinned CA signed it and its number is not below the last one applied.
   * Throws SWARM_ERR_CRL_INVALID or SWARM_ERR_CRL_STALE (the denylist is then unchanged).
   */
  async applyCrl(pem: string): Promise<string[]> {
    const crl = await verifyCrl(pem, this.#o.caPem);
    if (crl.number < this.#crlNumber) {
      throw pkiError('SWARM_ERR_CRL_STALE', `CRL number ${crl.number} is older than ${this.#crlNumber}, which this host already applied; ignoring it`);
    }
    const numberChanged = crl.number !== this.#crlNumber;
    this.#crlNumber = crl.number;
    const added = await this.revoke(crl.serials, 'crl');
    if (added.length === 0 && numberChanged) await this.#persist();
    return added;
  }

  async #load(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.#o.logger.error({ err, file }, 'cannot read the persisted denylist; starting empty until the controller or the CRL refills it');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const r = StateFileSchema.safeParse(parsed);
    if (!r.success) {
      this.#o.logger.error({ file, issues: parsed === undefined ? 'not JSON' : formatZodIssues(r.error) }, 'the persisted denylist is invalid; starting empty until the controller or the CRL refills it');
      return;
    }
    this.#crlNumber = r.data.crlNumber;
    this.#denylist.add(r.data.serials);
  }

  /** Writes are chained: the file always ends with the latest list, whatever order they finish in. */
  #persist(): Promise<void> {
    const file = this.#o.file;
    if (!file) return Promise.resolve();
    this.#writing = this.#writing.then(async () => {
      const body = JSON.stringify({ crlNumber: this.#crlNumber, serials: this.#denylist.list() });
      await writeFileAtomic(file, `${body}\n`, 0o644).catch((err: unknown) =>
        this.#o.logger.error({ err, file }, 'could not persist the denylist (disk full?); it is enforced from memory'));
    });
    return this.#writing;
  }
}
