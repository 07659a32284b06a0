// Reload the agent's TLS identity without a restart: on SIGHUP, on PKI files changing (debounced), after renewal.
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { systemClock, type Clock } from '../shared/clock.js';
import { spiffeUri, type Identity } from '../shared/identity.js';
import type { Logger } from '../shared/logger.js';
import type { TlsMaterial } from '../shared/tls.js';

export interface TlsReloaderDeps {
  pkiDir: string;
  initial: TlsMaterial;
  /** Read and check the material from disk (throws on bad files). */
  load: () => Promise<TlsMaterial>;
  /** Install it for new handshakes (server.setSecureContext). */
  install: (material: TlsMaterial) => void;
  logger: Logger;
  clock?: Clock;
  debounceMs?: number;
}

/** Why a new identity is refused even though its files are valid; undefined when acceptable. */
export function checkReplacementIdentity(current: Identity, next: Identity): string | undefined {
  if (next.cluster !== current.cluster || next.role !== current.role || next.name !== current.name) {
    return `new certificate is ${spiffeUri(next)}, the agent is ${spiffeUri(current)}`;
  }
  return undefined;
}

/** Emits 'reloaded' (material) and 'reload-failed' (error); keeps the old context on any failure. */
export class TlsReloader extends EventEmitter<{ reloaded: [TlsMaterial]; 'reload-failed': [Error] }> {
  private material: TlsMaterial;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly clock: Clock;

  constructor(private readonly deps: TlsReloaderDeps) {
    super();
    this.material = deps.initial;
    this.clock = deps.clock ?? systemClock;
  }

  get current(): TlsMaterial {
    return this.material;
  }

  /** Watch the PKI directory; changes are debounced so a multi-file replacement reloads once. */
  watch(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.deps.pkiDir, { persistent: false }, () => this.schedule('files changed'));
      this.watcher.on('error', (err) => this.deps.logger.warn({ err }, 'cannot watch the PKI directory any more; SIGHUP still reloads'));
    } catch (err) {
      this.deps.logger.warn({ err }, 'cannot watch the PKI directory; SIGHUP still reloads');
    }
  }

  private schedule(reason: string): void {
    if (this.debounce !== undefined) this.clock.clearTimeout(this.debounce);
    this.debounce = this.clock.setTimeout(() => {
      this.debounce = undefined;
      void this.reload(reason);
    }, this.deps.debounceMs ?? 250);
  }

  /** Reload from disk now; resolves when done (never rejects). Reloads requested meanwhile run once after. */
  reload(reason: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const next = await this.deps.load();
          this.apply(next, reason);
        } catch (err) {
          this.deps.logger.error({ err, reason }, 'new TLS files refused; still serving the previous certificate');
          this.emit('reload-failed', err as Error);
        }
      } while (this.again);
      this.running = undefined;
    })();
    return this.running;
  }

  /** Install material already loaded (renewal); throws when it is another identity. */
  apply(next: TlsMaterial, reason: string): void {
    const refused = checkReplacementIdentity(this.material.identity, next.identity);
    if (refused) throw new Error(refused);
    if (next.cert === this.material.cert && next.key === this.material.key && next.ca === this.material.ca) return;
    this.deps.install(next);
    const previous = this.material.serial;
    this.material = next;
    this.deps.logger.info({ reason, serial: next.serial, previous, notAfter: new Date(next.notAfter).toISOString() }, 'tls context reloaded');
    this.emit('reloaded', next);
  }

  close(): void {
    if (this.debounce !== undefined) this.clock.clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
