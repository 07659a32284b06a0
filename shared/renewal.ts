// Automatic certificate renewal at 2/3 of the lifetime, with jitter (contract; the controller issue implements it).
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { TlsMaterial } from './tls.js';

export interface RenewalOptions {
  controllerUrl: string;
  /** The PKI directory holding ca.crt, <base>.crt, <base>.key; renewed files are written there atomically. */
  pkiDir: string;
  base: 'agent' | 'updater' | 'operator';
  material: () => TlsMaterial;
  /** Called after the new key and certificate are on disk. */
  onRenewed: (material: TlsMaterial) => void | Promise<void>;
  logger: Logger;
  clock?: Clock;
}

export interface Renewal {
  stop(): void;
  renewNow(): Promise<TlsMaterial>;
}

export function startRenewal(_options: RenewalOptions): Renewal {
  throw new Error('startRenewal: not built yet (controller issue)');
}
