// How a rollback request cuts an operation short: before the switch it stops it; after, it fails its probe/watch.
import type { SwarmError } from '../shared/errors.js';

export class Preemption {
  private readonly ac = new AbortController();
  private switched = false;

  /** Aborted with the pre-emption error when a rollback asks this operation to stop. */
  get signal(): AbortSignal {
    return this.ac.signal;
  }

  get requested(): boolean {
    return this.ac.signal.aborted;
  }

  /** The operation has started to switch releases (journal written or about to be). */
  get hasSwitched(): boolean {
    return this.switched;
  }

  /**
   * Call synchronously right before the first durable step of the switch (no await between the check and it):
   * throws when a rollback already pre-empted the operation, else commits it to its own path from here on.
   */
  enterSwitch(): void {
    if (this.ac.signal.aborted) throw this.ac.signal.reason;
    this.switched = true;
  }

  /** Ask the operation to stop. True when it had not switched yet (it stops; active was never touched). */
  preempt(reason: SwarmError): boolean {
    if (!this.ac.signal.aborted) this.ac.abort(reason);
    return !this.switched;
  }
}
