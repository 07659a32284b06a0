// Prometheus text exposition for the controller: counters, gauges and one latency histogram, no dependency.

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** A push lasts an upload, an install, a restart, a probe and a watch window: seconds to minutes. */
const PUSH_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
const PUSH_OUTCOMES = ['succeeded', 'rolled-back', 'failed', 'unreachable'] as const;
const ROLLOUT_STATES = ['pending', 'canary', 'rolling', 'paused', 'done', 'aborted'] as const;

export class Metrics {
  readonly enrollments = { ok: 0, refused: 0 };
  readonly renewals = { ok: 0, refused: 0 };
  readonly #latency = new Map<string, { buckets: number[]; sum: number; count: number }>();
  readonly #pushes = new Map<string, { buckets: number[]; sum: number; count: number }>(PUSH_OUTCOMES.map((o) => [o, { buckets: PUSH_BUCKETS.map(() => 0), sum: 0, count: 0 }]));

  /** One host's push settled (rollouts): its outcome and how long it took. */
  observePush(outcome: string, seconds: number): void {
    const h = this.#pushes.get(outcome);
    if (!h) return;
    for (let i = 0; i < PUSH_BUCKETS.length; i++) if (seconds <= PUSH_BUCKETS[i]!) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** Record one request's duration by route pattern and status class. */
  observeRequest(route: string, statusCode: number, seconds: number): void {
    const key = `${route}\u0000${Math.floor(statusCode / 100)}xx`;
    let h = this.#latency.get(key);
    if (!h) {
      h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(key, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** Render with the gauges computed at scrape time. */
  render(gauges: {
    hostsTotal: number; hostsOnline: number; channels: { agent: number; updater: number }; certificatesExpiringSoon: number; revokedSerials: number;
    /** Rollouts by state (the store's count at scrape time). */
    rolloutsByState?: Readonly<Record<string, number>>;
    /** Which replica this is (its rollout lease holder id) and on which store engine. */
    replica?: { id: string; engine: string };
    /** This replica's role for each unsettled rollout (bounded by the caller). */
    rolloutRoles?: ReadonlyArray<{ rollout: string; role: 'driver' | 'standby' }>;
  }): string {
    const out: string[] = [];
    const gauge = (name: string, help: string, lines: string[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...lines);
    };
    const counter = (name: string, help: string, lines: string[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, ...lines);
    };
    if (gauges.replica) {
      gauge('swarm_controller_info', 'This controller replica: its id (the holder of the rollout leases it takes) and its store engine; always 1.', [
        `swarm_controller_info{replica="${label(gauges.replica.id)}",engine="${label(gauges.replica.engine)}"} 1`,
      ]);
    }
    if (gauges.rolloutRoles) {
      gauge('swarm_rollout_role', 'This replica\'s role for each unsettled rollout: driver (it holds the lease) or standby; always 1.',
        gauges.rolloutRoles.map((r) => `swarm_rollout_role{rollout="${label(r.rollout)}",role="${r.role}"} 1`));
    }
    gauge('swarm_hosts', 'Registered hosts (not removed).', [`swarm_hosts ${gauges.hostsTotal}`]);
    gauge('swarm_hosts_online', 'Hosts whose channels reported within the offline timeout.', [`swarm_hosts_online ${gauges.hostsOnline}`]);
    gauge('swarm_channels_open', 'WebSocket channels open on this replica, by role.', [
      `swarm_channels_open{role="agent"} ${gauges.channels.agent}`,
      `swarm_channels_open{role="updater"} ${gauges.channels.updater}`,
    ]);
    gauge('swarm_certificates_expiring_soon', 'Current certificates with less than a third of the leaf lifetime left.', [
      `swarm_certificates_expiring_soon ${gauges.certificatesExpiringSoon}`,
    ]);
    gauge('swarm_revoked_serials', 'Serials on the denylist.', [`swarm_revoked_serials ${gauges.revokedSerials}`]);
    counter('swarm_enrollments_total', 'Enrollment attempts by result.', [
      `swarm_enrollments_total{result="ok"} ${this.enrollments.ok}`,
      `swarm_enrollments_total{result="refused"} ${this.enrollments.refused}`,
    ]);
    counter('swarm_renewals_total', 'Certificate renewals by result.', [
      `swarm_renewals_total{result="ok"} ${this.renewals.ok}`,
      `swarm_renewals_total{result="refused"} ${this.renewals.refused}`,
    ]);
    gauge('swarm_rollouts', 'Rollouts by state.', ROLLOUT_STATES.map((st) => `swarm_rollouts{state="${st}"} ${gauges.rolloutsByState?.[st] ?? 0}`));
    counter('swarm_rollout_hosts_total', 'Hosts settled by rollouts, by outcome (succeeded = updated; rolled-back, failed, unreachable count against budgets).',
      PUSH_OUTCOMES.map((o) => `swarm_rollout_hosts_total{outcome="${o}"} ${this.#pushes.get(o)!.count}`));
    out.push('# HELP swarm_rollout_push_duration_seconds One host\'s push, from its start to its outcome, by outcome.', '# TYPE swarm_rollout_push_duration_seconds histogram');
    for (const [outcome, h] of this.#pushes) {
      const labels = `outcome="${outcome}"`;
      PUSH_BUCKETS.forEach((b, i) => out.push(`swarm_rollout_push_duration_seconds_bucket{${labels},le="${b}"} ${h.buckets[i]}`));
      out.push(`swarm_rollout_push_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      out.push(`swarm_rollout_push_duration_seconds_sum{${labels}} ${h.sum}`);
      out.push(`swarm_rollout_push_duration_seconds_count{${labels}} ${h.count}`);
    }
    const mem = process.memoryUsage();
    gauge('swarm_process_memory_bytes', 'Controller memory by kind (rss, heap_used, heap_total, external, array_buffers).', [
      `swarm_process_memory_bytes{kind="rss"} ${mem.rss}`,
      `swarm_process_memory_bytes{kind="heap_used"} ${mem.heapUsed}`,
      `swarm_process_memory_bytes{kind="heap_total"} ${mem.heapTotal}`,
      `swarm_process_memory_bytes{kind="external"} ${mem.external}`,
      `swarm_process_memory_bytes{kind="array_buffers"} ${mem.arrayBuffers}`,
    ]);
    out.push('# HELP swarm_http_request_duration_seconds HTTP request latency by route and status class.', '# TYPE swarm_http_request_duration_seconds histogram');
    for (const [key, h] of this.#latency) {
      const [route, status] = key.split('\u0000') as [string, string];
      const labels = `route="${label(route)}",status="${status}"`;
      BUCKETS.forEach((b, i) => out.push(`swarm_http_request_duration_seconds_bucket{${labels},le="${b}"} ${h.buckets[i]}`));
      out.push(`swarm_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      out.push(`swarm_http_request_duration_seconds_sum{${labels}} ${h.sum}`);
      out.push(`swarm_http_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    return `${out.join('\n')}\n`;
  }
}

/** A label value as Prometheus text allows it: quotes, backslashes and newlines replaced. */
function label(value: string): string {
  return value.replace(/["\\\n]/g, '_');
}
