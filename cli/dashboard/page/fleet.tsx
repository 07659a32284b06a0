// The fleet at a glance: hosts online and offline, health, which releases run where (one bar), certificates expiring.
import type { FleetStatus, HostView } from './types.js';
import { plural, relativeTime, shortId } from './format.js';

const PALETTE = 8;

export interface ReleaseShare {
  release: string;
  version: string | null;
  hosts: number;
}

export function ReleaseBar(props: { releases: ReleaseShare[]; none: number; onPick: (release: string) => void; picked: string }) {
  const total = props.releases.reduce((n, r) => n + r.hosts, 0) + props.none;
  if (total === 0) return <p class="muted">No host reports a release yet.</p>;
  const parts = [...props.releases.map((r, i) => ({ key: r.release, label: `${r.version ?? '?'} (${shortId(r.release)})`, hosts: r.hosts, cls: `rel-${i % PALETTE}` }))];
  if (props.none > 0) parts.push({ key: '', label: 'no release', hosts: props.none, cls: 'rel-none' });
  return (
    <div class="releases" data-testid="release-bar">
      <div class="bar bar-tall" role="img" aria-label={parts.map((p) => `${p.label}: ${p.hosts}`).join(', ')}>
        {parts.map((p) => <span key={p.key} class={`seg ${p.cls}`} style={{ width: `${(100 * p.hosts) / total}%` }} title={`${p.label}: ${plural(p.hosts, 'host')}`} />)}
      </div>
      <ul class="legend">
        {parts.map((p) => (
          <li key={p.key}>
            <button type="button" class={props.picked === (p.key || 'none') ? 'picked' : ''} aria-pressed={props.picked === (p.key || 'none')} onClick={() => props.onPick(p.key || 'none')}>
              <span class={`swatch ${p.cls}`} />{p.label} <span class="count">{p.hosts.toLocaleString('en')}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function FleetSummary(props: { status: FleetStatus; hosts: HostView[]; now: number; pickRelease: (r: string) => void; pickedRelease: string; pickState: (s: string) => void }) {
  const s = props.status;
  const withRelease = s.releases.reduce((n, r) => n + r.hosts, 0);
  const unhealthy = Object.entries(s.health).filter(([k]) => k !== 'ok').reduce((n, [, v]) => n + v, 0);
  const expiring = props.hosts.filter((h) => h.certExpiry).sort((a, b) => (a.certExpiry! < b.certExpiry! ? -1 : 1)).slice(0, 3);
  return (
    <section class="summary" aria-label="fleet at a glance">
      <div class="cards">
        <button type="button" class="card" onClick={() => props.pickState('all')}><span class="big" data-testid="hosts-total">{s.hosts.total.toLocaleString('en')}</span> hosts</button>
        <button type="button" class="card tone-good" onClick={() => props.pickState('online')}><span class="big" data-testid="hosts-online">{s.hosts.online.toLocaleString('en')}</span> online</button>
        <button type="button" class={`card ${s.hosts.offline > 0 ? 'tone-bad' : ''}`} onClick={() => props.pickState('offline')}><span class="big" data-testid="hosts-offline">{s.hosts.offline.toLocaleString('en')}</span> offline</button>
        {s.hosts.pending > 0 ? <button type="button" class="card" onClick={() => props.pickState('pending')}><span class="big">{s.hosts.pending}</span> not enrolled</button> : null}
        <button type="button" class={`card ${unhealthy > 0 ? 'tone-warn' : ''}`} onClick={() => props.pickState('unhealthy')}>
          <span class="big">{unhealthy.toLocaleString('en')}</span> unhealthy
          <span class="sub">{Object.entries(s.health).map(([k, v]) => `${v} ${k}`).join(', ') || 'no agent reports yet'}</span>
        </button>
        <div class={`card ${s.certificates.expiringSoon > 0 ? 'tone-warn' : ''}`}>
          <span class="big">{s.certificates.expiringSoon}</span> certificates expiring soon
          <span class="sub">{expiring.length > 0 ? `next: ${expiring.map((h) => `${h.name} ${relativeTime(h.certExpiry, props.now)}`).join(', ')}` : 'renewed automatically at a third of their life left'}</span>
        </div>
      </div>
      <h2 class="h3">Releases running</h2>
      <ReleaseBar releases={s.releases} none={Math.max(0, s.hosts.total - withRelease)} onPick={props.pickRelease} picked={props.pickedRelease} />
    </section>
  );
}
