// Who may call which updater route (DESIGN.md §2): a pure table, tested alone.
import type { Identity, Role } from '../shared/identity.js';

/** Route key: `<METHOD> <fastify route url>`. */
export const UPDATER_ROUTE_ROLES: Readonly<Record<string, readonly Role[]>> = Object.freeze({
  'POST /v1/update': ['controller'],
  'POST /v1/rollback': ['controller'],
  'POST /v1/self-update': ['controller'],
  'GET /v1/releases': ['controller'],
  'GET /v1/operations': ['controller'],
  'DELETE /v1/releases/:id/bad': ['controller'],
  'GET /v1/operations/latest': ['controller'],
  'GET /v1/operations/:id': ['controller'],
  'GET /v1/health': ['controller', 'operator'],
});

/** Allowed when the route is in the table and the caller's role is listed; everything else is refused. */
export function authorizeUpdaterRoute(identity: Identity, method: string, routeUrl: string | undefined): boolean {
  if (!routeUrl) return false;
  const roles = UPDATER_ROUTE_ROLES[`${method.toUpperCase()} ${routeUrl}`];
  return roles !== undefined && roles.includes(identity.role);
}
