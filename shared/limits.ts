// Every timeout, cap and rate limit that defends a Swarm process, in one place: its value and why.
// docs/limits.md lists each one (a test checks both directions); change a value here and there together.

export interface Limit {
  readonly value: number;
  /** The unit of `value`: 'ms', 'bytes', 'count', 'per-second', 'bytes-per-second', ... */
  readonly unit: string;
  /** Why this number: what it protects and what a different value would break. */
  readonly why: string;
}

function limit(value: number, unit: string, why: string): Limit {
  return Object.freeze({ value, unit, why });
}

/** Every limit, by a stable dotted name (`area.what`). */
export const LIMITS = {
  // -- servers: TLS handshakes, anonymous connections (hardening items 4, 5) --
  'server.handshake-timeout': limit(5_000, 'ms', 'A socket must finish TLS this soon after it connects; Node holds a silent one 120 s. A few round trips on a slow link fit easily; attackers can no longer park sockets.'),
  'server.headers-timeout': limit(10_000, 'ms', 'All request headers must arrive this soon after the request starts (a partial request was held ~75 s). Checked every server.timeout-check-interval.'),
  'server.timeout-check-interval': limit(1_000, 'ms', 'How often Node checks requests against the headers timeout (its default, 30 s, let a partial request live 30 s past the timeout).'),
  'server.max-pending-handshakes': limit(512, 'count', 'Sockets still in the TLS handshake, all sources together; beyond it the oldest socket of the busiest source is dropped. Covers a fleet reconnecting after a controller restart.'),
  'server.max-pending-handshakes-per-source': limit(32, 'count', 'Sockets still in the TLS handshake from one address (an IPv6 /64); beyond it that source loses its oldest, so a flood only evicts itself. Room for a NAT with many hosts.'),
  'server.max-anonymous-connections': limit(256, 'count', 'Connections that finished TLS without a verified certificate (controller only: enrollment, CA, CRL, healthz), all sources; they never take the places of verified identities.'),
  'server.max-anonymous-connections-per-source': limit(16, 'count', 'Connections without a verified certificate from one address (an IPv6 /64); beyond it that source loses its oldest. Enrollment needs two, one after the other.'),
  'server.anonymous-connection-lifetime': limit(30_000, 'ms', 'A connection without a verified certificate is closed this long after its handshake, whatever it does: enrollment and CA/CRL fetches take milliseconds; a trickled request cannot hold one.'),
  'server.max-connections-per-identity': limit(64, 'count', 'Live connections of one verified identity (SPIFFE URI); a further one is closed at once. Bounds what one stolen certificate can hold; swarmctl uses 4, a host 2-3.'),
  'server.eviction-log-interval': limit(60_000, 'ms', 'At most one warning per interval summarises the sockets dropped by the connection caps, so a flood cannot flood the log too.'),
  'agent.max-pending-handshakes': limit(64, 'count', 'The agent listens on loopback for two callers (the updater, the controller): far fewer pending handshakes than a controller, so a local flood from many 127.x addresses stays small.'),

  // -- updater: uploads and operation deadlines (hardening item 2) --
  'updater.upload.min-rate': limit(1024, 'bytes-per-second', 'A release body slower than this over a whole rate window is cut (SWARM_ERR_UPDATER_UPLOAD_TOO_SLOW): a stalled or trickling client would otherwise hold the one-operation lock. Far below any working link; config upload.minBytesPerSecond.'),
  'updater.upload.rate-window': limit(30_000, 'ms', 'The rate is judged over consecutive windows this long, so a short network pause never cuts an upload; a stalled client is cut within two windows. Config upload.rateWindowMs.'),
  'updater.upload.deadline': limit(1_800_000, 'ms', 'A whole release body must arrive within 30 min (1 GiB at ~600 KB/s): a client trickling just above the minimum rate cannot hold the lock for days. Config upload.deadlineMs.'),
  'updater.restart.systemctl-timeout': limit(120_000, 'ms', 'systemctl restart/start/stop of the agent unit is killed after this (a unit whose stop hangs); the restart then counts as failed and the update rolls back.'),
  'process.kill-wait': limit(5_000, 'ms', 'After SIGKILL to a process group, how long a stop waits for its leader to be gone before moving on (a process stuck in uninterruptible sleep cannot be waited for forever); shared/process-group.ts.'),
  'updater.install.sync-timeout': limit(300_000, 'ms', 'The one `sync -f` that makes a staged release durable is killed after this; the installer then fsyncs each file itself. A hung disk must not hold the operation forever.'),
  'release.max-path-bytes': limit(4_096, 'bytes', 'Longest release entry name or symlink target: the updater\'s default limits.maxPathBytes (PATH_MAX), and what `release build` refuses beyond, so a built release is one every default updater installs.'),

  // -- controller: release uploads (POST /v1/releases) --
  'controller.release.max-bytes': limit(1024 ** 3, 'bytes', 'Largest release tarball the controller stores (compressed bytes, counted while streaming; SWARM_ERR_RELEASE_TOO_LARGE): the updaters\' own default, so nothing is stored that no host would take.'),
  'controller.release.max-unpacked-bytes': limit(1024 ** 3, 'bytes', 'A stored release may unpack to at most this (the updaters\' default maxUnpackedBytes): the controller reads every entry header, so an archive no host would install is refused at upload.'),
  'controller.release.max-entries': limit(100_000, 'count', 'Tar entries a stored release may have (the updaters\' default maxEntries).'),
  'controller.release.max-path-bytes': limit(4_096, 'bytes', 'Longest tar entry name or link target in a stored release (the updaters\' default maxPathBytes).'),
  'controller.release.max-ratio': limit(100, 'ratio', 'Unpacked / compressed bytes past the first MiB (the updaters\' default maxCompressionRatio): a gzip bomb is refused while streaming, before the controller inflates it.'),
  'controller.release.manifest-bytes': limit(1024 * 1024, 'bytes', 'Largest swarm-release.json the controller reads from an upload (the installer\'s own cap); a bigger one is not a manifest.'),
  'controller.release.min-rate': limit(1024, 'bytes-per-second', 'A release upload slower than this over a whole rate window is cut (SWARM_ERR_RELEASE_UPLOAD_TOO_SLOW) and its temp file removed: a stalled client would otherwise hold a connection and a file handle. Far below any working link.'),
  'controller.release.rate-window': limit(30_000, 'ms', 'The upload rate is judged over consecutive windows this long, so a short network pause never cuts an upload; a stalled one is cut within two windows.'),
  'controller.release.deadline': limit(1_800_000, 'ms', 'A whole release upload must arrive within 30 min (1 GiB at ~600 KB/s; SWARM_ERR_RELEASE_UPLOAD_DEADLINE); swarmctl release upload waits as long for the answer.'),
  'controller.release.chunk-bytes': limit(1024 * 1024, 'bytes', 'On PostgreSQL a release is stored as rows of this many bytes (the last one shorter): an upload holds at most about two chunks in memory, a push fetches one chunk at a time as the updater takes it, and one row stays far below the 1 GB field limit and the statement timeout.'),
  'controller.metrics.rollout-roles': limit(100, 'count', 'At most this many unsettled rollouts get a swarm_rollout_role line on /metrics (newest first): one series per running or paused rollout, never one per settled one, so the cardinality stays bounded.'),
  'updater.rollback.reason-chars': limit(200, 'chars', 'The reason an operator gives for a rollback (POST /v1/rollback {"reason"}, swarm-updater rollback --reason): one line in the operation record, printable; it travels in the updater report, so it is cut below the report text cap.'),
  'updater.supervisor-watch-interval': limit(1_000, 'ms', 'How often a supervised updater worker checks (and once as it starts) that its supervisor still lives (its parent pid is still the pid the supervisor gave it); a worker orphaned by a SIGKILLed supervisor stops within this, freeing the port for the worker of the restarted unit.'),
  'updater.plan.max-steps': limit(10_000, 'count', 'Steps the executor applies for one operation. A plan needs about three per rollback candidate and each candidate is tried once, so reaching this means the planner loops (a bug): the operation stops with SWARM_ERR_INTERNAL instead of spinning, and the journal still leads a restart.'),

  // -- join: the CA answer (hardening item 1) --
  'join.tokenTtlMin': limit(60_000, 'ms', 'Shortest join token an operator may ask for (host add --token-ttl): shorter ones expire before a person can copy the command to the host.'),
  'join.tokenTtlMax': limit(7 * 86_400_000, 'ms', 'Longest join token: a token is a credential that enrolls a host; a week covers shipping a pre-provisioned sensor, longer would leave secrets lying around.'),
  'join.caAnswerBytes': limit(65_536, 'bytes', 'GET /v1/pki/ca is read before anything is trusted; a CA certificate is ~2 KiB, so 64 KiB leaves room for large keys and stops an endless answer from filling memory.'),
  'join.caAnswerTimeout': limit(10_000, 'ms', 'How long join waits for the whole GET /v1/pki/ca answer; a server that trickles bytes cannot hold the join (and the person running it) for ever.'),
  'join.tokenFileBytes': limit(4096, 'bytes', 'A join token is ~50 characters; reading --token-file (or stdin) stops here, so a wrong path such as a device or a huge file fails at once.'),

  // -- channels: messages and reports (hardening items 6, 8) --
  'channels.message-bytes': limit(65_536, 'bytes', 'Largest channel message either side accepts (ws closes a larger one with 1009). The largest valid report (an updater status carrying 64 services, 64 bad releases, 32 steps, who asked for the operation and why, every string at its cap in 3-byte characters; test/helpers/reports.ts) weighs 47,939 bytes; 256 KiB let one host make the controller parse 187 KB per message.'),
  'channels.report-services': limit(64, 'count', 'Services one agent report may list: the manifest allows 64 per release, so an honest agent never has more.'),
  'channels.report-text-chars': limit(256, 'chars', 'Free text a host reports (operation error messages, step details, ids): enough for one actionable line; the updater escapes and cuts its own text to fit before sending.'),
  'channels.report-steps': limit(32, 'count', 'Steps of the last operation an updater report carries (the newest ones); a real operation has about ten, the full record stays on the host.'),
  'channels.report-bad-releases': limit(64, 'count', 'Release ids an updater report lists as bad (the newest ones); the host keeps every mark, the report only has to show the recent ones.'),
  'channels.reports-per-heartbeat': limit(4, 'count', 'Reports a channel earns per controller heartbeat (token-bucket refill). Honest clients send one per heartbeat plus changes, spaced by at least a third of a heartbeat; one host sent 1,239 reports in 4 s before this budget.'),
  'channels.report-burst': limit(8, 'count', 'Reports a channel may send at once before the refill rate applies (the bucket size): a reconnect or a quick series of health changes fits.'),
  'channels.dropped-before-close': limit(16, 'count', 'Reports dropped over budget (the count decays at the refill rate) after which the controller closes the channel with 4429: a flooding host stops costing parse time at once.'),
  'channels.client-reports-per-heartbeat': limit(3, 'count', 'Our agents and updaters send at most this many reports per controller heartbeat (sends are spaced by heartbeat/3 and coalesced), below the controller budget, so they are never refused.'),
  'channels.status-output-line-chars': limit(4_096, 'chars', 'One service output line in the agent GET /v1/status: the agent cuts lines at 2,048 bytes; a longer line is refused rather than shown.'),
  'channels.status-output-lines': limit(1_000, 'count', 'Output lines per service in the agent GET /v1/status: the most ?lines= may ask for.'),

  // -- revocation on hosts (hardening item 3) --
  'revocation.maxSerialsPerMessage': limit(1_000, 'count', 'Serials in one `revoked` channel message (at most ~43 KB of 40-hex serials, under the 64 KiB channel message cap); a longer list is sent in several messages.'),
  'revocation.crlRefreshInterval': limit(300_000, 'ms', 'How often agents and updaters fetch and verify GET /v1/pki/crl: the fallback when the channel is down, so a revocation reaches a cut-off host within this.'),
  'revocation.crlFetchTimeout': limit(10_000, 'ms', 'One CRL fetch (connect, headers and body); a stalled controller must not hold the refresh forever.'),
  'revocation.crlMaxBytes': limit(8 * 1024 * 1024, 'bytes', 'Largest CRL a host reads (~200,000 entries); a bigger answer is refused, not buffered.'),
  'revocation.controllerCertLifetime': limit(7 * 86_400_000, 'ms', 'Lifetime of the controller certificate (it self-renews when a third is left): a stolen controller key is useful for at most this long even where the CRL does not reach.'),
  'revocation.replica-poll-interval': limit(3_000, 'ms', 'Each replica on a shared database (PostgreSQL) re-reads the serials revoked lately this often, besides hearing them at once by LISTEN/NOTIFY: a notice lost with a dropped listening connection still reaches every replica within this. One indexed read.'),
  'revocation.replica-poll-overlap': limit(300_000, 'ms', 'That re-read asks for revocations since its previous one minus this: the revoking replica stamps revoked_at with its own clock, and a renewal retires serials at the new certificate\'s issue time, before the commit. Covers replicas\' clock skew and a slow commit; a few minutes of revocations is a handful of rows.'),
  'revocation.notify-payload-bytes': limit(7_900, 'bytes', 'Largest NOTIFY payload a replica sends (PostgreSQL refuses 8000 and more by default): the serials of one revocation go in as many notices as needed, each naming the host.'),
  'revocation.notify-backoff-base': limit(100, 'ms', 'First wait before a replica reconnects its revocation listener (LISTEN) after the connection dropped; it re-reads every revoked serial once listening again, so nothing sent meanwhile is missed.'),
  'revocation.notify-backoff-max': limit(5_000, 'ms', 'Longest wait between reconnects of the revocation listener (exponential, half random): a database failover is retried every few seconds, and the periodic re-read covers the gap.'),
  // -- replicas: what controllers on one PostgreSQL database share about live channels --
  'replicas.presence-interval': limit(1_000, 'ms', 'Each replica on a shared database records the channels it opened or closed since the last time, and marks itself alive, this often (one small transaction), then reads the others\' channels: a host\'s channel moving to another replica shows within about this.'),
  'replicas.presence-ttl': limit(5_000, 'ms', 'A replica not marked alive for this long (killed, frozen, cut from the database) no longer counts: its channels stop showing as open. Five intervals, so a slow transaction or two never flaps a fleet offline; replicas\' clocks must agree well under it (NTP).'),
  'replicas.presence-reap-after': limit(60_000, 'ms', 'The record of a replica silent this long is deleted with its channels by the next replica that marks itself alive, so dead replicas do not pile up; one that comes back records its channels again.'),

  // -- enrollment and renewal (hardening item 11) --
  'enroll.per-source-per-minute': limit(20, 'per-minute',
    'Enrollment attempts one client address may make per minute (swarm-controller serve --enroll-rate). A host enrolls once; '
    + '20 leaves room for retries after typos or an expired token, and stops one address from guessing tokens or burning CPU.'),
  'enroll.global-per-minute': limit(1200, 'per-minute',
    'Enrollment attempts from all addresses together per minute (--enroll-global-rate), so a distributed attacker cannot make the '
    + 'controller burn CPU on CSR checks and issuance. One attempt costs a few ms of CPU (two CSR signatures verified, two leaves '
    + 'signed), so 20 a second stays under a tenth of a core, while 1,000 hosts joining at once (a fleet rebuilt) all pass in a minute.'),
  'renew.per-identity-per-minute': limit(30, 'per-minute',
    'Renewals one identity (all its certificates together) may make per minute. Honest processes renew every few days; the cap '
    + 'keeps a stolen identity from filling the certificate table (each renewal is a row).'),
  'renew.superseded-grace': limit(60_000, 'ms',
    'After a renewed certificate is first used at the controller, the certificate it replaced stays valid this long, so the '
    + 'renewing process can move its other connections over; then it is revoked (superseded). Short, because until then a '
    + 'stolen copy of the old certificate still works.'),

  // -- rollouts: pushes to updaters, settling, fleet rollback --
  'rollout.connect-timeout': limit(10_000, 'ms', 'The controller\'s TCP+TLS connect to an updater (push, records, rollback). A host that cannot be reached this soon is unreachable for this push; a longer wait only holds a push slot.'),
  'rollout.host-deadline': limit(300_000, 'ms', 'Default hostDeadlineMs of a rollout strategy: one host\'s whole push (upload, install, probe, watch window, a rollback) must end within it; the updater\'s own phases (probe, 30 s watch) fit well inside.'),
  'rollout.concurrent-bodies': limit(8, 'count', 'Release bodies the controller sends at once, across every rollout (a push waits for a slot before sending; it frees the slot when its last byte left, before the updater installs). The link is shared anyway: more bodies at once do not finish sooner, they only hold more buffers, so the controller\'s memory stays flat at any max-parallel. Hosts that have their release install while others receive theirs.'),
  'rollout.push-chunk': limit(65_536, 'bytes', 'Size of the one buffer each push reads its release into, again and again, as the socket drains: a push holds this much of the release, never more, and makes no garbage per chunk.'),
  'rollout.body-idle': limit(60_000, 'ms', 'Once an updater\'s answer has begun (its headers came), silence this long between its bytes cuts it; the push is then settled from the records. The headers themselves may take the whole host deadline: the updater is silent during probe and watch.'),
  'rollout.settle-grace': limit(60_000, 'ms', 'How long the controller keeps asking an updater for its records after a push\'s deadline (or after a restart found the host pushing) before it records the host failed as unsettled: long enough for an updater restart, bounded so a wave never waits forever.'),
  'rollout.settle-poll-interval': limit(1_000, 'ms', 'Interval between reads of an updater\'s running operation record while settling a push whose connection dropped (or a busy updater); an operation ends in seconds to minutes.'),
  'rollout.clock-skew': limit(300_000, 'ms', 'When settling from an updater\'s records, a record for the release counts as this push\'s if it started after the push started minus this much: host clocks may differ from the controller\'s.'),
  'rollout.push-attempts': limit(3, 'count', 'Times one host\'s push is sent when the updater\'s records show it never arrived (or the updater was busy with another operation); always within the host deadline.'),
  'rollout.reconnect-recheck': limit(1_000, 'ms', 'While a host at its turn waits for its updater channel to come back (after a controller restart, or a drop shorter than the offline timeout), the rollout looks again this often; the offline timeout bounds the wait, after which the host is unreachable.'),
  'rollout.records-bytes': limit(1_048_576, 'bytes', 'Largest answer the controller reads from an updater (an operation record or a list of five); a bigger one is refused, not buffered.'),
  'rollout.lease-ttl': limit(10_000, 'ms', 'A rollout\'s driver holds its lease this long past each renewal: when the driving replica dies (or freezes), another takes the rollout over within this plus one poll interval. Shorter risks a takeover during a GC pause or a slow database; longer stalls the rollout after a crash.'),
  'rollout.lease-renew-interval': limit(3_000, 'ms', 'The driver renews each rollout lease this often (a third of the TTL: two renewals may fail before it expires), and decides again on each, so an operator action taken on another replica is picked up within this.'),
  'rollout.lease-poll-interval': limit(2_000, 'ms', 'Every replica looks this often for unsettled rollouts whose lease expired (or that nobody holds) and takes them over; a few indexed reads per poll.'),
  'rollback.parallel': limit(64, 'count', 'Hosts a fleet rollback contacts at once (POST /v1/rollback --parallel overrides): hundreds of hosts come back in a few rounds without the controller opening thousands of TLS connections at once.'),
  'rollback.host-deadline': limit(180_000, 'ms', 'One host\'s rollback (restart, probe of the previous release) must answer within this; an updater that does not is reported failed, not waited for.'),
  // -- rollouts: the operator API and swarmctl's live view --
  'rollout.default-host-deadline': limit(300_000, 'ms', 'One host\'s push (upload, install, probe, 30 s watch window) must end within this unless --host-deadline says otherwise: a sensor on a slow link installs in well under five minutes, and a hung host must not hold its wave for ever.'),
  'rollouts.sse-heartbeat': limit(15_000, 'ms', 'A rollout event stream sends a comment line this often when nothing happens, so proxies and NAT keep the connection and a client can tell a quiet rollout from a dead connection.'),
  'rollouts.sse-client-buffer': limit(1_048_576, 'bytes', 'Event bytes the controller holds for one stream client that does not read; past it the client is disconnected (it resumes with Last-Event-ID) rather than buffered without bound. Thousands of events fit.'),
  'clients.controller-urls': limit(8, 'count', 'Controller URLs one host or swarmctl takes (--controller repeated, a comma-separated SWARM_CONTROLLER/SWARMCTL_CONTROLLER, the updater config array): a replica set is a handful; a longer list only lengthens a failover round.'),
  'cli.rollback-timeout': limit(600_000, 'ms', 'How long swarmctl rollback waits for the controller\'s report: every selected host is rolled back (restart, probe) before it answers, and a fleet of thousands at the default parallelism takes minutes; past it the command fails but the rollback goes on.'),
  'cli.watch-refresh-interval': limit(250, 'ms', 'swarmctl\'s live view re-reads the rollout at most this often however fast events come (fetches are coalesced): a person reads no faster, and a large rollout\'s document is not fetched per event.'),
  'cli.watch-reconnects': limit(10, 'count', 'Consecutive failed reconnects of swarmctl\'s event stream before it gives up with an error; a successful reconnect starts the count again.'),
  'cli.watch-backoff-base': limit(500, 'ms', 'First reconnect delay of swarmctl\'s event stream (exponential with full jitter up to cli.watch-backoff-max): a controller restart is usually back within seconds.'),
  'cli.watch-backoff-max': limit(10_000, 'ms', 'Longest wait between reconnects of swarmctl\'s event stream: ten tries cover about a minute of controller outage.'),
  'cli.watch-idle-timeout': limit(45_000, 'ms', 'A stream that delivers nothing, not even a heartbeat, for three heartbeats is taken as dropped and reconnected (a half-open connection after a network change would otherwise hang the view).'),
  // -- swarmctl dashboard: the local read-only web view --
  'dashboard.hosts-poll-interval': limit(2_000, 'ms', 'swarmctl dashboard re-reads the host list and fleet summary from the controller this often while a browser is connected, and sends browsers only the hosts that changed: one read per interval however many tabs are open, and 5,000 hosts reporting never flood a page.'),
  'dashboard.event-batch-interval': limit(250, 'ms', 'Rollout events reach the browser in batches at most this often (one message per interval, however many hosts changed): a person reads no faster, and the page re-reads a rollout once per batch, not per event.'),
  'dashboard.sse-heartbeat': limit(15_000, 'ms', 'The dashboard\'s event stream to the browser sends a comment line this often when nothing happens, so the page can tell a quiet fleet from a dashboard that stopped.'),
  'dashboard.sse-client-buffer': limit(4_194_304, 'bytes', 'Bytes the dashboard holds for one browser stream that does not read (a tab in the background); past it the stream is closed (the page reconnects and re-reads everything) rather than buffered without bound. A change of all 5,000 hosts fits.'),
  'dashboard.max-streams': limit(32, 'count', 'Browser event streams one dashboard serves at once; a further tab is refused (SWARM_ERR_DASHBOARD_BUSY). A person opens a few tabs; a runaway script must not hold the CLI process.'),
  'dashboard.request-timeout': limit(15_000, 'ms', 'One read the dashboard makes of the controller on a browser\'s behalf (the host list of a large fleet takes well under a second); past it the page shows the controller as unreachable instead of spinning.'),
  // -- the PostgreSQL store (swarm-controller --store postgres://...) --
  'store.postgres.pool-size': limit(10, 'count', 'Connections one controller process keeps to PostgreSQL. Each store method holds one for a single short transaction; ten serve a busy controller, and several replicas stay well under the server\'s default max_connections (100).'),
  'store.postgres.connect-timeout': limit(10_000, 'ms', 'A new connection to PostgreSQL (TCP, TLS, authentication) must be ready this soon, or the store call rejects (SWARM_ERR_STORE): an unreachable database fails a start or a request instead of hanging it.'),
  'store.postgres.statement-timeout': limit(30_000, 'ms', 'PostgreSQL cancels one statement of the store running longer than this (statement_timeout), lock waits included: every statement is a key lookup or a short scan, so only a stuck lock or a sick server reaches it.'),
  'store.postgres.idle-in-transaction-timeout': limit(60_000, 'ms', 'PostgreSQL ends a store session that sits inside an open transaction this long (idle_in_transaction_session_timeout): a controller frozen mid-transaction (paused, swapped out) cannot hold row locks that every replica waits on.'),
  'store.postgres.transaction-attempts': limit(5, 'count', 'Times a store transaction is run when PostgreSQL aborts it as a deadlock or serialization failure (40P01, 40001); each retry starts afresh and the conflict that caused it has committed, so a few always suffice.'),
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof LIMITS;

/** The value of a named limit. */
export function limitValue(name: LimitName): number {
  return (LIMITS as Record<string, Limit>)[name]!.value;
}

export { limit as defineLimit };
