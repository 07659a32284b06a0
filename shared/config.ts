// Config: reading a JSON file is separate from validating it; the result is frozen.
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { sharedError } from './errors.js';
import { formatZodIssues } from './validation.js';

/** Read a JSON config file; a missing optional file gives {}. */
export async function readConfigFile(path: string, options: { optional?: boolean } = {}): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (options.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw sharedError('SWARM_ERR_CONFIG_UNREADABLE', `config ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path and its permissions`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw sharedError('SWARM_ERR_CONFIG_PARSE', `config ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Validate raw config against a schema (which carries the defaults) and freeze it deeply. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): Readonly<z.output<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw sharedError('SWARM_ERR_CONFIG_INVALID', `${source}: ${formatZodIssues(result.error)}`);
  }
  return deepFreeze(result.data);
}

export function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
