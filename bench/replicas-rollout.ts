// Two rollouts at once on a small real-process fleet on PostgreSQL: both driven by one replica, then one per replica.
import type { PgServer } from '../test/helpers/postgres.js';

export async function runReplicaRollouts(_pg: PgServer, _hosts: number, _sizeMb: number): Promise<Record<string, unknown> | null> {
  return null;
}
