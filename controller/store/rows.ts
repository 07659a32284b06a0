// The store's table rows and how they map to records, shared by the engines. They differ only in how a JSON column
// and a flag travel: SQLite keeps JSON as text and flags as 0/1, PostgreSQL returns parsed jsonb and booleans.
import type { Role } from '../../shared/identity.js';
import type { RolloutHostState, RolloutReason, RolloutState, Strategy } from '../rollout/model.js';
import type {
  AuditEntry, CertificateRecord, ChannelReport, HostRecord, HostReportRecord, ReleaseRecord, RolloutEventRecord, RolloutHostRecord, RolloutLeaseRecord,
  RolloutRecord,
} from './store.js';

export interface HostRow { name: string; address: string | null; labels: unknown; created_at: number; enrolled_at: number | null; removed_at: number | null }
export interface CertRow { serial: string; role: Role; name: string; not_before: number; not_after: number; issued_at: number; revoked_at: number | null; key_sha256: string | null }
export interface TokenRow { hash: string; host_name: string; created_at: number; expires_at: number; used_at: number | null }
export interface ReportRow { host_name: string; last_contact: number | null; agent: unknown; updater: unknown }
export interface AuditRow { id: number; at: number; actor: string; action: string; target: string; details: unknown }
export interface ReleaseRow { id: string; name: string; version: string; size: number; signature: string | null; uploaded_by: string; uploaded_at: number }
export interface RolloutRow {
  id: string; release_id: string; version: string; kind: 'agent' | 'updater'; state: RolloutState; reason: RolloutReason | null; strategy: unknown;
  budget: number; current_wave: number; wave_count: number; wave_ended_at: number | null; canary_accepted: number | boolean;
  created_by: string; created_at: number; updated_at: number; ended_at: number | null;
}
export interface RolloutHostRow {
  rollout_id: string; name: string; wave: number; state: RolloutHostState; error: unknown; from_release: string | null;
  push_started_at: number | null; started_at: number | null; ended_at: number | null;
}
export interface LeaseRow { rollout_id: string; holder: string | null; token: number; expires_at: number }
export interface EventRow { rollout_id: string; seq: number; at: number; type: string; host: string | null; wave: number | null; actor: string | null; reason: string | null; message: string }

/** How an engine's JSON columns come back (`JSON.parse` of text, or already parsed) and go in. */
export interface JsonCodec {
  decode(value: unknown): unknown;
  encode(value: unknown): unknown;
  /** A flag column's value (SQLite: 1/0). */
  flag(value: boolean): unknown;
}

export const TEXT_JSON: JsonCodec = { decode: (v) => JSON.parse(v as string), encode: (v) => JSON.stringify(v), flag: (v) => (v ? 1 : 0) };

/** Row-to-record mappers for one engine's codec. */
export function rowMappers(codec: JsonCodec) {
  const json = <T>(v: unknown): T => codec.decode(v) as T;
  const orNull = <T>(v: unknown): T | null => (v === null || v === undefined ? null : json<T>(v));
  return {
    toHost: (r: HostRow): HostRecord => ({
      name: r.name, address: r.address, labels: json<Record<string, string>>(r.labels), createdAt: r.created_at, enrolledAt: r.enrolled_at, removedAt: r.removed_at,
    }),
    toCert: (r: CertRow): CertificateRecord => ({
      serial: r.serial, role: r.role, name: r.name, notBefore: r.not_before, notAfter: r.not_after, issuedAt: r.issued_at, revokedAt: r.revoked_at, keySha256: r.key_sha256,
    }),
    toPendingToken: (t: TokenRow) => ({ hostName: t.host_name, createdAt: t.created_at, expiresAt: t.expires_at }),
    toReport: (r: ReportRow): HostReportRecord => ({
      hostName: r.host_name, lastContact: r.last_contact, agent: orNull<ChannelReport>(r.agent), updater: orNull<ChannelReport>(r.updater),
    }),
    toAudit: (r: AuditRow): AuditEntry => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, details: json<Record<string, unknown>>(r.details) }),
    toRelease: (r: ReleaseRow): ReleaseRecord => ({
      id: r.id, name: r.name, version: r.version, size: r.size, signature: r.signature, uploadedBy: r.uploaded_by, uploadedAt: r.uploaded_at,
    }),
    toRollout: (r: RolloutRow): RolloutRecord => ({
      id: r.id, releaseId: r.release_id, version: r.version, kind: r.kind, state: r.state, reason: r.reason, strategy: json<Strategy>(r.strategy),
      budget: r.budget, currentWave: r.current_wave, waveCount: r.wave_count, waveEndedAt: r.wave_ended_at, canaryAccepted: r.canary_accepted === 1 || r.canary_accepted === true,
      createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at, endedAt: r.ended_at,
    }),
    toRolloutHost: (r: RolloutHostRow): RolloutHostRecord => ({
      rolloutId: r.rollout_id, name: r.name, wave: r.wave, state: r.state, error: orNull<RolloutHostRecord['error']>(r.error),
      from: r.from_release, pushStartedAt: r.push_started_at, startedAt: r.started_at, endedAt: r.ended_at,
    }),
    toLease: (r: LeaseRow): RolloutLeaseRecord => ({ rolloutId: r.rollout_id, holder: r.holder, token: r.token, expiresAt: r.expires_at }),
    toEvent: (r: EventRow): RolloutEventRecord => ({
      rolloutId: r.rollout_id, seq: r.seq, at: r.at, type: r.type, host: r.host, wave: r.wave, actor: r.actor, reason: r.reason, message: r.message,
    }),
  };
}

/** A changeable field's column and how its value is written. */
export type ColumnMap = Record<string, [string, (v: unknown) => unknown]>;

/** The rollout and rollout-host fields a transition may change, and their columns, for one engine's codec. */
export function rolloutColumns(codec: JsonCodec): { rollout: ColumnMap; host: ColumnMap } {
  const same = (v: unknown): unknown => v;
  return {
    rollout: {
      state: ['state', same], reason: ['reason', same], strategy: ['strategy', (v) => codec.encode(v)], budget: ['budget', same],
      currentWave: ['current_wave', same], waveCount: ['wave_count', same], waveEndedAt: ['wave_ended_at', same],
      canaryAccepted: ['canary_accepted', (v) => codec.flag(Boolean(v))], updatedAt: ['updated_at', same], endedAt: ['ended_at', same],
    },
    host: {
      state: ['state', same], error: ['error', (v) => (v === null || v === undefined ? null : codec.encode(v))], from: ['from_release', same],
      pushStartedAt: ['push_started_at', same], startedAt: ['started_at', same], endedAt: ['ended_at', same],
    },
  };
}

/** The entries of a change's `set` that name a known column, as [column, encoded value] pairs. */
export function columnsToSet(map: ColumnMap, set: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(set).filter(([k]) => k in map).map(([k, v]) => [map[k]![0], map[k]![1](v)]);
}

/** A rollout's row values for an insert, for one engine's codec. */
export function rolloutRowValues(r: RolloutRecord, codec: JsonCodec): RolloutRow {
  return {
    id: r.id, release_id: r.releaseId, version: r.version, kind: r.kind, state: r.state, reason: r.reason, strategy: codec.encode(r.strategy),
    budget: r.budget, current_wave: r.currentWave, wave_count: r.waveCount, wave_ended_at: r.waveEndedAt, canary_accepted: codec.flag(r.canaryAccepted) as number | boolean,
    created_by: r.createdBy, created_at: r.createdAt, updated_at: r.updatedAt, ended_at: r.endedAt,
  };
}
