// swarmctl's rollout and rollback flags turned into API bodies, purely: bad usage names the flag (exit 2).
import { UsageError } from '../shared/cli.js';
import { parseDuration } from '../shared/duration.js';
import { NAME_PATTERN } from '../shared/names.js';
import type { Targets } from '../shared/rollout-api.js';
import { formatAmount, parseAmount, ROLLOUT_DEFAULTS, type AmountValue } from '../shared/rollout-strategy.js';
import { parseSelector } from '../shared/selector.js';
import { formatDuration } from './live-view.js';

export interface TargetFlags {
  all?: boolean;
  hosts?: string;
  selector?: string;
}

export interface StrategyFlags {
  canary: string;
  batch: string;
  maxParallel: string;
  maxFailures: string;
  pauseBetween: string;
  hostDeadline: string;
}

export interface StrategyJson {
  canary: number;
  batch: AmountValue;
  maxParallel: number;
  maxFailures: AmountValue;
  pauseBetweenMs: number;
  hostDeadlineMs: number;
}

/** The flags' defaults as typed on a command line (help shows them; one source: ROLLOUT_DEFAULTS). */
export const STRATEGY_FLAG_DEFAULTS: StrategyFlags = {
  canary: String(ROLLOUT_DEFAULTS.canary),
  batch: formatAmount(ROLLOUT_DEFAULTS.batch),
  maxParallel: String(ROLLOUT_DEFAULTS.maxParallel),
  maxFailures: formatAmount(ROLLOUT_DEFAULTS.maxFailures),
  pauseBetween: formatDuration(ROLLOUT_DEFAULTS.pauseBetweenMs),
  hostDeadline: formatDuration(ROLLOUT_DEFAULTS.hostDeadlineMs),
};

/** A host list "a,b,c": each a valid host name. */
export function parseHostList(text: string, flag: string): string[] {
  const names = text.split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`${flag} needs at least one host name (A,B,...)`);
  const bad = names.find((n) => !NAME_PATTERN.test(n));
  if (bad !== undefined) throw new UsageError(`${flag}: "${bad}" is not a host name (lowercase letters, digits and -)`);
  return [...new Set(names)];
}

function checkSelector(text: string): string {
  const terms = parseSelector(text);
  if (typeof terms === 'string') throw new UsageError(`--selector: ${terms}`);
  return text;
}

/** Exactly one of --all, --hosts, --selector. */
export function parseTargets(opts: TargetFlags): Targets {
  const given = [opts.all ? '--all' : '', opts.hosts !== undefined ? '--hosts' : '', opts.selector !== undefined ? '--selector' : ''].filter(Boolean);
  if (given.length !== 1) throw new UsageError(given.length === 0 ? 'say which hosts: --all, --hosts A,B or --selector K=V' : `give only one of ${given.join(', ')}`);
  if (opts.all) return { all: true };
  if (opts.hosts !== undefined) return { hosts: parseHostList(opts.hosts, '--hosts') };
  return { selector: checkSelector(opts.selector!) };
}

function integer(text: string, flag: string, min: number, max: number): number {
  const n = /^\d{1,7}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

/** N or P%; `positive` refuses 0 and 0%. */
export function amountFlag(text: string, flag: string, positive = false): AmountValue {
  const a = parseAmount(text);
  const zero = a !== undefined && ('count' in a ? a.count === 0 : a.percent === 0);
  if (!a || (positive && zero)) throw new UsageError(`${flag} must be a count N or a percentage P% (0-100%)${positive ? ', more than 0' : ''}, got "${text}"`);
  return a;
}

function durationFlag(text: string, flag: string, minMs: number, maxMs: number): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < minMs || ms > maxMs) throw new UsageError(`${flag} must be a duration from ${formatDuration(minMs)} to ${formatDuration(maxMs)} (like 30s, 5m, 1h), got "${text}"`);
  return ms;
}

/** Every strategy field, from the flags (defaults filled by commander from STRATEGY_FLAG_DEFAULTS). */
export function parseStrategy(opts: StrategyFlags): StrategyJson {
  return {
    canary: integer(opts.canary, '--canary', 0, 1_000_000),
    batch: amountFlag(opts.batch, '--batch', true),
    maxParallel: integer(opts.maxParallel, '--max-parallel', 1, 10_000),
    maxFailures: amountFlag(opts.maxFailures, '--max-failures'),
    pauseBetweenMs: durationFlag(opts.pauseBetween, '--pause-between', 0, 7 * 86_400_000),
    hostDeadlineMs: durationFlag(opts.hostDeadline, '--host-deadline', 1000, 86_400_000),
  };
}

export interface RollbackFlags {
  all?: boolean;
  selector?: string;
  rollout?: string;
  parallel?: string;
}

/** `rollback (HOST... | --all | --selector K=V | --rollout ID) [--parallel N]` as a FleetRollbackBody. */
export function parseRollbackTargets(hosts: readonly string[], opts: RollbackFlags): Record<string, unknown> {
  const given = [hosts.length > 0 ? 'HOST...' : '', opts.all ? '--all' : '', opts.selector !== undefined ? '--selector' : '', opts.rollout !== undefined ? '--rollout' : ''].filter(Boolean);
  if (given.length !== 1) throw new UsageError(given.length === 0 ? 'say which hosts: HOST..., --all, --selector K=V or --rollout ID' : `give only one of ${given.join(', ')}`);
  const parallel = opts.parallel === undefined ? {} : { parallel: integer(opts.parallel, '--parallel', 1, 10_000) };
  if (hosts.length > 0) return { hosts: parseHostList(hosts.join(','), 'HOST'), ...parallel };
  if (opts.all) return { all: true, ...parallel };
  if (opts.selector !== undefined) return { selector: checkSelector(opts.selector), ...parallel };
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.rollout!)) throw new UsageError(`--rollout "${opts.rollout}" is not a rollout id (see swarmctl rollout list)`);
  return { rollout: opts.rollout!, ...parallel };
}
