// The enrollment budget of all clients together: a fixed window of attempts, so a distributed flood cannot
// make the controller spend its CPU on CSR checks and signing (the per-address limit cannot see it).

export class EnrollBudget {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #count = 0;

  constructor(max: number, windowMs: number, now: () => number) {
    this.#max = max;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Count one attempt: 0 when it fits, else the ms until the window opens again. */
  take(): number {
    const now = this.#now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#count = 0;
    }
    if (this.#count >= this.#max) return Math.max(1, this.#windowStart + this.#windowMs - now);
    this.#count++;
    return 0;
  }
}
