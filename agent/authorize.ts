// Who may call the agent: a pure table over SPIFFE identities (DESIGN.md §2), tested alone.
import type { Identity } from '../shared/identity.js';

export const AGENT_ROUTES = ['/v1/health', '/v1/status'] as const;
export type AgentRoute = (typeof AGENT_ROUTES)[number];

/**
 * `self` is the agent's own identity (agent/<host>). Health: the controller, and the updater of the same
 * host only. Status: the controller only. Anything else, and any other cluster: refused.
 */
export function authorizeAgentRoute(self: Identity, caller: Identity, route: string): boolean {
  if (caller.cluster !== self.cluster) return false;
  switch (route) {
    case '/v1/health':
      return caller.role === 'controller' || (caller.role === 'updater' && caller.name === self.name);
    case '/v1/status':
      return caller.role === 'controller';
    default:
      return false;
  }
}
