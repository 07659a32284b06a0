// Host and operator names: the one regex and the reserved list (DESIGN.md §2).
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Names no host or operator may take: they collide with roles, well-known hosts or operators' expectations. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'controller', 'updater', 'agent', 'operator', 'localhost', 'admin', 'root', 'swarm', 'system', 'default', 'all', 'none', 'self', 'ca',
]);

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/** Why a name cannot be used for a new host, or undefined when it can. */
export function checkNewHostName(name: string): string | undefined {
  if (!isValidName(name)) return `name "${name}" must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`;
  if (RESERVED_NAMES.has(name)) return `name "${name}" is reserved; pick another`;
  return undefined;
}
