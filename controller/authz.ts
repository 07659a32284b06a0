// The controller's authorization table (DESIGN.md §2), as pure functions of the caller's identity.
import type { Identity } from '../shared/identity.js';

/** Everything operators use: /v1/hosts, /v1/operators, /v1/certificates, /v1/status, /v1/audit. */
export const canOperate = (id: Identity): boolean => id.role === 'operator';

/** /metrics: operators and the controller itself (a Prometheus scraper gets an operator identity). */
export const canReadMetrics = (id: Identity): boolean => id.role === 'operator' || id.role === 'controller';

/** POST /v1/pki/renew: any enrolled identity renews itself (the controller renews locally). */
export const canRenew = (id: Identity): boolean => id.role === 'agent' || id.role === 'updater' || id.role === 'operator';

/** A channel path admits only its own role. */
export const canOpenChannel = (id: Identity, channelRole: 'agent' | 'updater'): boolean => id.role === channelRole;
