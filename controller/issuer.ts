// Issue leaf certificates from the cluster CA and record every one in the store.
import { createHash, createPublicKey } from 'node:crypto';
import type { CertificateAuthority, IssuedCertificate } from '../pki/index.js';
import { createCrl } from '../pki/index.js';
import type { Clock } from '../shared/clock.js';
import type { Role } from '../shared/identity.js';
import type { IssueGuard, IssueRefusal, Store } from './store/index.js';

/** Lowercase hex SHA-256 of a public key's SPKI DER: how the store recognises a key certified before. */
export function keySha256Of(publicKeyPem: string): string {
  return createHash('sha256').update(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' })).digest('hex');
}

export class Issuer {
  readonly ca: CertificateAuthority;
  readonly leafLifetimeMs: number;
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(ca: CertificateAuthority, store: Store, clock: Clock, leafLifetimeMs: number) {
    this.ca = ca;
    this.#store = store;
    this.#clock = clock;
    this.leafLifetimeMs = leafLifetimeMs;
  }

  async issue(role: Role, name: string, publicKeyPem: string, options: { sans?: readonly string[]; lifetimeMs?: number } = {}): Promise<IssuedCertificate> {
    const { issued, record } = this.#sign(role, name, publicKeyPem, options);
    await this.#store.recordCertificate(record);
    return issued;
  }

  /**
   * Sign, then record only if `guard` holds when the certificate is recorded (one store transaction): checks
   * made before signing could be overtaken by a concurrent request (a host removed, a second renewal).
   * A refused certificate is dropped unrecorded and never handed out.
   */
  async issueGuarded(role: Role, name: string, publicKeyPem: string, guard: IssueGuard): Promise<{ ok: true; issued: IssuedCertificate; retired: string[] } | { ok: false; reason: IssueRefusal }> {
    const { issued, record } = this.#sign(role, name, publicKeyPem, {});
    const outcome = await this.#store.recordIssued(record, guard);
    return outcome.ok ? { ok: true, issued, retired: outcome.retired } : outcome;
  }

  #sign(role: Role, name: string, publicKeyPem: string, options: { sans?: readonly string[]; lifetimeMs?: number }) {
    const now = this.#clock.now();
    const issued = this.ca.issue({
      publicKeyPem,
      identity: { cluster: this.ca.cluster, role, name },
      lifetimeMs: options.lifetimeMs ?? this.leafLifetimeMs,
      ...(options.sans ? { sans: options.sans } : {}),
      now,
    });
    const record = { serial: issued.serial, role, name, notBefore: issued.notBefore, notAfter: issued.notAfter, issuedAt: now, keySha256: keySha256Of(publicKeyPem) };
    return { issued, record };
  }
}

/** The published CRL: regenerated (with a new number) whenever a serial is revoked, and daily. */
export class CrlPublisher {
  #pem = '';
  /** The number of the CRL in #pem. */
  #number = 0;
  readonly #ca: CertificateAuthority;
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(ca: CertificateAuthority, store: Store, clock: Clock) {
    this.#ca = ca;
    this.#store = store;
    this.#clock = clock;
  }

  get pem(): string {
    return this.#pem;
  }

  async regenerate(): Promise<string> {
    const { number, revoked } = await this.#store.nextCrl();
    const pem = await createCrl(this.#ca, revoked, { number, thisUpdate: this.#clock.now() });
    // Regenerations overlap (store answers and signing are async): one that finishes late must not put an
    // older CRL, missing later revocations, back in place of a newer one.
    if (number > this.#number) {
      this.#number = number;
      this.#pem = pem;
    }
    return this.#pem;
  }
}
