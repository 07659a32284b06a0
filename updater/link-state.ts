// The state of the updater's link to the controller, kept in <install-dir>/state/link.json so `swarm-updater status`
// (another process) can say whether this host reaches its controller, and why not.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../shared/files.js';
import { printableString } from '../shared/printable.js';

export const LinkStateSchema = z.object({
  controller: z.string().max(2048),
  state: z.enum(['connecting', 'connected', 'disconnected']),
  /** When the link entered this state (ISO). */
  since: z.string(),
  /** The last failure to connect, or why the channel closed. */
  lastError: z.object({ message: printableString(512), at: z.string() }).nullable(),
});
export type LinkState = z.output<typeof LinkStateSchema>;

/** Tracks the link and writes each change (best effort: a full disk must not stop the updater). */
export class LinkStateFile {
  #state: LinkState;
  #warned = false;
  /** Writes one after the other, so the file never goes back to an older state. */
  #writes: Promise<void> = Promise.resolve();

  constructor(private readonly path: string, controller: string, private readonly logger: Logger, private readonly now: () => number = Date.now) {
    this.#state = { controller, state: 'connecting', since: new Date(now()).toISOString(), lastError: null };
    this.#write();
  }

  /** The channel is up, on `controller` (one of several replicas, or the one URL). */
  connected(controller: string = this.#state.controller): void {
    if (this.#warned) this.logger.info({ controller }, 'reached the controller');
    this.#warned = false;
    this.#set({ ...this.#state, controller, state: 'connected', since: new Date(this.now()).toISOString() });
  }

  /** A connect to `controller` failed, or the channel to it closed; the state names the URL last tried. */
  failed(message: string, controller: string = this.#state.controller): void {
    // One warning per outage, not one per retry: a wrong --controller must be visible at once, and not flood the log.
    if (!this.#warned) this.logger.warn({ controller, err: message }, `cannot reach the controller at ${controller}: ${message}; retrying with backoff (check --controller)`);
    this.#warned = true;
    const at = new Date(this.now()).toISOString();
    const since = this.#state.state === 'connected' ? at : this.#state.since;
    this.#set({ ...this.#state, controller, state: this.#state.state === 'connected' ? 'disconnected' : this.#state.state, since, lastError: { message: message.slice(0, 512).replace(/[^\x20-\x7e]/g, '?'), at } });
  }

  get(): LinkState {
    return this.#state;
  }

  /** Resolves once every change made so far is on disk (or its write failed): a stopping link leaves nothing in flight. */
  settled(): Promise<void> {
    return this.#writes;
  }

  #set(next: LinkState): void {
    this.#state = next;
    this.#write();
  }

  #write(): void {
    const text = `${JSON.stringify(this.#state)}\n`;
    this.#writes = this.#writes
      .then(() => writeFileAtomic(this.path, text, 0o644))
      .catch((err: unknown) => this.logger.debug({ err }, 'could not write the link state'));
  }
}

/** The link state a running updater wrote, or undefined (no --controller, never run, or unreadable). */
export async function readLinkState(path: string): Promise<LinkState | undefined> {
  try {
    const r = LinkStateSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
