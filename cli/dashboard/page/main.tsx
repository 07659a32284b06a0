// The dashboard page: a header with the controller's state, the fleet (summary and hosts table) and the rollouts,
// routed by the URL's hash (#/, #/rollouts, #/rollouts/ID). Read-only: every action is a swarmctl command to copy.
import './styles.css';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { FleetSummary } from './fleet.js';
import { HostsTable, type HostFilter } from './hosts.js';
import { startLive, type Live, type LiveState } from './live.js';
import { RolloutList, RolloutPage } from './rollouts.js';
import { Notice } from './widgets.js';

type Route = { page: 'fleet' } | { page: 'rollouts' } | { page: 'rollout'; id: string };

function parseRoute(hash: string): Route {
  const m = /^#\/rollouts\/([^/]+)$/.exec(hash);
  if (m) return { page: 'rollout', id: decodeURIComponent(m[1]!) };
  if (hash === '#/rollouts') return { page: 'rollouts' };
  return { page: 'fleet' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function useLive(): [LiveState | undefined, Live | undefined] {
  const [state, setState] = useState<LiveState | undefined>(undefined);
  const [live, setLive] = useState<Live | undefined>(undefined);
  useEffect(() => {
    const l = startLive(setState);
    setLive(l);
    return () => l.stop();
  }, []);
  return [state, live];
}

function useClock(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** Keys: 1 fleet, 2 rollouts, / the host filter; never while typing in a field. */
function useShortcuts(): void {
  useEffect(() => {
    const on = (e: KeyboardEvent): void => {
      const t = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || (t && /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
      if (e.key === '1') location.hash = '#/';
      else if (e.key === '2') location.hash = '#/rollouts';
      else if (e.key === '/') {
        const f = document.getElementById('host-filter');
        if (f) {
          e.preventDefault();
          f.focus();
        }
      }
    };
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  }, []);
}

function Banners(props: { s: LiveState }) {
  const { s } = props;
  return (
    <>
      {!s.connected ? (
        <div class="banner banner-bad" role="alert" data-testid="banner-dashboard">
          Lost the connection to <code>swarmctl dashboard</code>; retrying. If the command was stopped, run it again and open the new URL it prints.
        </div>
      ) : null}
      {s.connected && !s.health.ok ? (
        <div class="banner banner-bad" role="alert" data-testid="banner-controller">
          The controller{s.info ? <> at <code>{s.info.controller}</code></> : null} is unreachable: {s.health.message ?? 'no answer'}. What you see is from {new Date(s.health.since).toLocaleTimeString()}; the dashboard keeps retrying. Check that <code>swarm-controller serve</code> runs (<code>swarmctl status</code>).
        </div>
      ) : null}
    </>
  );
}

function Fleet(props: { s: LiveState; live: Live | undefined; now: number }) {
  const [filter, setFilter] = useState<HostFilter>({ text: '', state: 'all', release: 'all' });
  useEffect(() => props.live?.wantHosts(), [props.live]);
  const snap = props.s.hosts;
  const releases = useMemo(() => snap?.status.releases ?? [], [snap?.status]);
  if (!snap) {
    return props.s.hostsError
      ? <Notice kind="error" title="Could not read the hosts">{props.s.hostsError.message}</Notice>
      : <Notice kind="loading" title="Loading the fleet…" />;
  }
  return (
    <>
      <FleetSummary status={snap.status} hosts={snap.hosts} now={props.now}
        pickRelease={(r) => setFilter({ ...filter, release: filter.release === r ? 'all' : r })} pickedRelease={filter.release}
        pickState={(st) => setFilter({ ...filter, state: st === 'pending' ? 'not enrolled' : st })} />
      <h2 class="h3">Hosts</h2>
      <HostsTable hosts={snap.hosts} filter={filter} setFilter={setFilter} releases={releases} now={props.now} />
    </>
  );
}

function App() {
  const [s, live] = useLive();
  const route = useRoute();
  const now = useClock(5000);
  useShortcuts();
  const versions = useMemo(() => {
    const m = new Map<string, string>();
    for (const r of s?.rollouts ?? []) m.set(r.release, r.version);
    for (const r of s?.hosts?.status.releases ?? []) if (r.version) m.set(r.release, r.version);
    return m;
  }, [s?.rollouts, s?.hosts?.status]);
  if (!s) return <Notice kind="loading" title="Starting…" />;
  const running = (s.rollouts ?? []).filter((r) => r.state === 'canary' || r.state === 'rolling' || r.state === 'pending' || r.state === 'paused').length;
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <div class="brand">Swarm <span class="muted">dashboard</span></div>
        <nav aria-label="views">
          <a href="#/" aria-current={route.page === 'fleet' ? 'page' : undefined} aria-keyshortcuts="1" title="Fleet (key 1)">Fleet</a>
          <a href="#/rollouts" aria-current={route.page !== 'fleet' ? 'page' : undefined} aria-keyshortcuts="2" title="Rollouts (key 2)">Rollouts{running > 0 ? <span class="count" data-testid="running-count" title={`${running} not settled (running or paused)`}>{running}</span> : null}</a>
        </nav>
        <div class="who muted">{s.info ? <>{s.info.operator} @ {s.info.controller}</> : null} <span class={`dot ${s.connected && s.health.ok ? 'dot-good' : 'dot-bad'}`} data-testid="live-dot" title={s.connected && s.health.ok ? 'live' : 'not live'} /> read-only</div>
      </header>
      <Banners s={s} />
      <main id="main" tabIndex={-1}>
        {route.page === 'fleet' ? <Fleet s={s} live={live} now={now} /> : null}
        {route.page === 'rollouts' ? <><h1>Rollouts</h1><RolloutList rollouts={s.rollouts} error={s.rolloutsError} now={now} versions={versions} /></> : null}
        {route.page === 'rollout' ? <><p><a href="#/rollouts">← all rollouts</a></p><RolloutPage id={route.id} tick={s.rolloutTick} touched={s.touched} versions={versions} /></> : null}
      </main>
      <footer class="keys muted">Keys: <kbd>1</kbd> fleet, <kbd>2</kbd> rollouts, <kbd>/</kbd> filter hosts, arrows and Page Up/Down in the hosts table, <kbd>Tab</kbd> to everything else. Read-only: changes are made with swarmctl.</footer>
    </>
  );
}

const root = document.getElementById('app')!;
// The boot line in index.html is for the moment before this script runs; preact would keep it beside the app.
root.textContent = '';
render(<App />, root);
