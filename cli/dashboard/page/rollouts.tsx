// Rollouts: the list, and one rollout's page (header, waves with their hosts, failures with reasons, the timeline,
// and the swarmctl commands that act on it).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatAmount, formatDuration, relativeTime, shortId } from './format.js';
import { FetchError, readRollout } from './live.js';
import { SETTLED, type RolloutHost, type RolloutJson, type RolloutSummary, type Wave } from './types.js';
import { Badge, CopyCommand, Notice, WaveBar } from './widgets.js';

const FAILED: ReadonlySet<string> = new Set(['failed', 'rolled-back', 'unreachable']);

function total(r: RolloutSummary): { hosts: number; done: number; failed: number; rolledBack: number; inFlight: number; pending: number } {
  const t = { hosts: 0, done: 0, failed: 0, rolledBack: 0, inFlight: 0, pending: 0, index: 0 };
  for (const w of r.waves) {
    t.hosts += w.hosts;
    t.done += w.done;
    t.failed += w.failed;
    t.rolledBack += w.rolledBack;
    t.inFlight += w.inFlight;
    t.pending += w.pending;
  }
  return t;
}

/** Release id -> version, from what the page has read (rollouts' targets, releases running). */
export type Versions = ReadonlyMap<string, string>;

function fromTo(r: RolloutSummary, versions: Versions): string {
  const from = r.from ? (versions.has(r.from) ? `${versions.get(r.from)} (${shortId(r.from)})` : shortId(r.from)) : '(mixed)';
  return `${from} → ${r.version} (${shortId(r.release)})`;
}

function StateBadge(props: { r: RolloutSummary }) {
  return <span class="state"><Badge value={props.r.state} />{props.r.reason ? <span class="reason" data-testid="rollout-reason">{props.r.reason}</span> : null}</span>;
}

export function RolloutList(props: { rollouts: RolloutSummary[] | undefined; error: FetchError | undefined; now: number; versions: Versions }) {
  if (props.rollouts === undefined) {
    return props.error ? <Notice kind="error" title="Could not read the rollouts">{props.error.message}</Notice> : <Notice kind="loading" title="Loading rollouts…" />;
  }
  if (props.rollouts.length === 0) {
    return <Notice kind="empty" title="No rollouts yet">Start one with <code>swarmctl rollout start RELEASE --all</code> (see <code>swarmctl rollout plan</code> for the waves first); it appears here live.</Notice>;
  }
  return (
    <table class="table rollouts" data-testid="rollout-list">
      <thead><tr><th scope="col">Rollout</th><th scope="col">State</th><th scope="col">From → to</th><th scope="col">Progress</th><th scope="col">Failures</th><th scope="col">Started</th><th scope="col">By</th></tr></thead>
      <tbody>
        {props.rollouts.map((r) => {
          const t = total(r);
          return (
            <tr key={r.id} data-rollout={r.id} data-state={r.state}>
              <td><a href={`#/rollouts/${encodeURIComponent(r.id)}`}>{r.id}</a>{r.kind === 'updater' ? <span class="muted"> (updater)</span> : null}</td>
              <td><StateBadge r={r} /></td>
              <td>{fromTo(r, props.versions)}</td>
              <td class="progress-cell"><WaveBar wave={{ index: 0, ...t }} /><span class="muted">{t.done}/{t.hosts}</span></td>
              <td>{r.budget.used} of {r.budget.allowed} allowed</td>
              <td>{relativeTime(r.createdAt, props.now)}</td>
              <td class="muted">{r.createdBy.replace(/^spiffe:\/\/[^/]+\/operator\//, '')}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The commands that act on this rollout now (the page itself never acts). */
function actions(r: RolloutJson): Array<{ command: string; what: string }> {
  const out: Array<{ command: string; what: string }> = [];
  if (r.state === 'pending' || r.state === 'canary' || r.state === 'rolling') {
    out.push({ command: `swarmctl rollout pause ${r.id}`, what: 'Pause (hosts in flight finish)' });
    out.push({ command: `swarmctl rollout abort ${r.id}`, what: 'Abort (no further host is started)' });
  }
  if (r.state === 'paused') {
    out.push({ command: `swarmctl rollout resume ${r.id}`, what: 'Resume' });
    if (r.reason === 'budget-exceeded') out.push({ command: `swarmctl rollout resume ${r.id} --max-failures ${r.budget.used + 1}`, what: 'Resume with a larger failure budget' });
    out.push({ command: `swarmctl rollout abort ${r.id}`, what: 'Abort' });
  }
  if (r.hosts.some((h) => h.state === 'succeeded')) out.push({ command: `swarmctl rollback --rollout ${r.id}`, what: 'Roll back the hosts it changed' });
  out.push({ command: `swarmctl rollout watch ${r.id}`, what: 'Follow it in a terminal' });
  return out;
}

function HostReason(props: { h: RolloutHost }) {
  const e = props.h.error;
  if (!e) return null;
  return (
    <div class="reason-block">
      <code class="code">{e.code}</code> <span class="message">{e.message}</span>
      {e.detail ? <pre class="detail">{e.detail}</pre> : null}
    </div>
  );
}

function useNow(live: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [live]);
  return now;
}

export function RolloutPage(props: { id: string; tick: number; touched: ReadonlySet<string>; versions: Versions }) {
  const [doc, setDoc] = useState<RolloutJson | undefined>(undefined);
  const [error, setError] = useState<FetchError | undefined>(undefined);
  const shown = useRef(props.id);
  shown.current = props.id;
  const load = (id: string): void => {
    readRollout(id).then((r) => {
      if (shown.current !== id) return;
      // Reads may answer out of order: an older document never replaces a newer one.
      setDoc((prev) => (prev && prev.id === r.id && prev.updatedAt > r.updatedAt ? prev : r));
      setError(undefined);
    }, (err: FetchError) => {
      if (shown.current === id) setError(err);
    });
  };
  useEffect(() => {
    setDoc(undefined);
    setError(undefined);
    load(props.id);
  }, [props.id]);
  // Read again only when the live state names this rollout (or everything, after a reconnect); at most once per tick.
  const firstTick = useRef(true);
  useEffect(() => {
    if (firstTick.current) {
      firstTick.current = false;
      return;
    }
    if (props.touched.has(props.id) || props.touched.has('*')) load(props.id);
  }, [props.tick]);
  const now = useNow(doc !== undefined && doc.endedAt === null);
  // The large parts depend on the document only: the same elements while it stays the same, so the clock ticking in
  // the header (or the fleet changing) does not make preact walk thousands of rows again.
  const body = useMemo(() => (doc ? <><Waves r={doc} /><Failures r={doc} /><Timeline r={doc} /></> : null), [doc]);

  if (!doc || doc.id !== props.id) {
    if (error) {
      return error.code === 'SWARM_ERR_ROLLOUT_NOT_FOUND'
        ? <Notice kind="error" title={`No rollout ${props.id}`}>See the <a href="#/rollouts">rollouts list</a>, or <code>swarmctl rollout list</code>.</Notice>
        : <Notice kind="error" title={`Could not read rollout ${props.id}`}>{error.message}</Notice>;
    }
    return <Notice kind="loading" title={`Loading rollout ${props.id}…`} />;
  }
  const r = doc;
  const ended = r.endedAt ? Date.parse(r.endedAt) : now;
  const s = r.strategy;
  const live = !SETTLED.has(r.state);
  return (
    <article class="rollout" data-testid="rollout-page" data-state={r.state}>
      <header class="rollout-head">
        <h1>Rollout {r.id} <StateBadge r={r} /></h1>
        <dl class="facts">
          <div><dt>Release</dt><dd data-testid="rollout-from-to">{fromTo(r, props.versions)}{r.kind === 'updater' ? ' (updater self-update)' : ''}</dd></div>
          <div><dt>Strategy</dt><dd>canary {s.canary}, batch {formatAmount(s.batch)}, max-parallel {s.maxParallel}, max-failures {formatAmount(s.maxFailures)}, pause {formatDuration(s.pauseBetweenMs)}, host deadline {formatDuration(s.hostDeadlineMs)}</dd></div>
          <div><dt>Failure budget</dt><dd class={r.budget.used > r.budget.allowed ? 'bad' : ''} data-testid="rollout-budget">{r.budget.used} used of {r.budget.allowed} allowed</dd></div>
          <div><dt>Elapsed</dt><dd>{formatDuration(ended - Date.parse(r.createdAt))}{live ? '' : r.endedAt ? ` (ended ${relativeTime(r.endedAt, now)})` : ''}</dd></div>
          <div><dt>Started by</dt><dd>{r.createdBy.replace(/^spiffe:\/\/[^/]+\/operator\//, '')}, {relativeTime(r.createdAt, now)}</dd></div>
        </dl>
        {r.state === 'paused' ? (
          <p class="callout" role="status" data-testid="paused-callout">
            Paused{r.reason === 'canary-failed' ? ': the canary failed, no other host was touched.' : r.reason === 'budget-exceeded' ? ': more hosts failed than the budget allows.' : r.reason === 'rollback' ? ': a fleet rollback paused it.' : ' by an operator.'} Read the failures below, then resume, abort or roll back with a command.
          </p>
        ) : null}
      </header>

      <section aria-label="commands" class="actions">
        <h2>Commands</h2>
        <p class="muted">This page only reads. Run these where your operator identity is:</p>
        {actions(r).map((a) => <CopyCommand key={a.command} command={a.command} what={a.what} />)}
      </section>

      {body}
    </article>
  );
}

/** How many hosts of a wave are listed before a "show all": a wave of 500 hosts opens without a pause. */
const WAVE_HOSTS_SHOWN = 100;

function WaveRow(props: { r: RolloutJson; w: Wave; hosts: RolloutHost[] }) {
  const { r, w, hosts } = props;
  const live = !SETTLED.has(r.state);
  // The wave being worked on and any wave with a failure start open; the others are one key away. A closed wave's
  // hosts are not in the page at all.
  const wanted = (w.index === r.currentWave && live) || w.failed + w.rolledBack > 0;
  const [open, setOpen] = useState(wanted);
  useEffect(() => {
    if (wanted) setOpen(true);
  }, [wanted]);
  const [all, setAll] = useState(false);
  const label = w.index === 0 && r.strategy.canary > 0 ? 'canary' : `wave ${w.index}`;
  const shown = all ? hosts : hosts.slice(0, WAVE_HOSTS_SHOWN);
  return (
    <li class={`wave${w.index === r.currentWave && live ? ' current' : ''}`} data-wave={w.index}>
      <details open={open} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>
          <span class="wave-name">{label}</span>
          <WaveBar wave={w} />
          <span class="wave-counts" data-testid={`wave-${w.index}-counts`}>{w.done}/{w.hosts} done{w.inFlight ? `, ${w.inFlight} in flight` : ''}{w.failed ? `, ${w.failed} failed` : ''}{w.rolledBack ? `, ${w.rolledBack} rolled back` : ''}{w.pending ? `, ${w.pending} pending` : ''}</span>
        </summary>
        {open ? (
          <ul class="wave-hosts">
            {shown.map((h) => <li key={h.name} data-host={h.name} data-state={h.state}><span class="mono">{h.name}</span> <Badge value={h.state} /></li>)}
            {shown.length < hosts.length ? <li><button type="button" class="link" onClick={() => setAll(true)}>show all {hosts.length.toLocaleString('en')} hosts</button></li> : null}
          </ul>
        ) : null}
      </details>
    </li>
  );
}

/** The waves, their bars and hosts. */
function Waves(props: { r: RolloutJson }) {
  const { r } = props;
  const byWave = new Map<number, RolloutHost[]>();
  for (const h of r.hosts) {
    let list = byWave.get(h.wave);
    if (!list) byWave.set(h.wave, (list = []));
    list.push(h);
  }
  return (
    <section aria-label="waves">
      <h2>Waves</h2>
      <ol class="waves">
        {r.waves.map((w) => <WaveRow key={w.index} r={r} w={w} hosts={byWave.get(w.index) ?? []} />)}
      </ol>
    </section>
  );
}

function Failures(props: { r: RolloutJson }) {
  const { r } = props;
  const failures = r.hosts.filter((h) => FAILED.has(h.state));
  return (
    <section aria-label="failures" class="failures" data-testid="failures">
      <h2>Failures {failures.length > 0 ? <span class="count">{failures.length}</span> : null}</h2>
      {failures.length === 0 ? <p class="muted">No host failed{SETTLED.has(r.state) ? '' : ' so far'}.</p> : (
        <ul>
          {failures.slice(0, 200).map((h) => (
            <li key={h.name} data-host={h.name} data-testid="failure">
              <div><span class="mono strong">{h.name}</span> <Badge value={h.state} /> <span class="muted">wave {h.wave}{h.endedAt ? `, at ${h.endedAt.slice(11, 19)} UTC` : ''}</span></div>
              <HostReason h={h} />
            </li>
          ))}
          {failures.length > 200 ? <li class="muted">and {failures.length - 200} more: <code>swarmctl --json rollout status {r.id}</code></li> : null}
        </ul>
      )}
    </section>
  );
}

function Timeline(props: { r: RolloutJson }) {
  const events = props.r.events;
  return (
    <section aria-label="timeline" class="timeline">
      <h2>Timeline {events.length > 200 ? <span class="muted">(the last 200 of {events.length.toLocaleString('en')})</span> : null}</h2>
      <ol data-testid="timeline">
        {events.slice(-200).reverse().map((e) => (
          <li key={e.seq}><time dateTime={e.at} title={`${e.at} (UTC)`}>{e.at.slice(11, 19)}</time> <span class="etype">{e.type}</span> {e.host ? <span class="mono">{e.host}</span> : null} {e.message}{e.actor ? <span class="muted"> by {e.actor.replace(/^spiffe:\/\/[^/]+\/operator\//, '')}</span> : null}</li>
        ))}
      </ol>
    </section>
  );
}
