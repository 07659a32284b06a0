// The hosts table: filter by name or label (k=v, k!=v), state and release; sort by any column; only the rows in
// view are in the DOM (fixed row height), so 5,000 hosts scroll and filter as fast as fifty.
import { useMemo, useRef, useState } from 'preact/hooks';
import type { HostView } from './types.js';
import { relativeTime, shortId } from './format.js';
import { Badge, Notice } from './widgets.js';

export const ROW_HEIGHT = 34;
const OVERSCAN = 8;
/** The table's scroll area: as tall as its rows, up to this (and 62% of the window, in CSS). */
const MAX_BODY_HEIGHT = 640;

export type HostState = 'online' | 'offline' | 'not enrolled';
export function hostState(h: HostView): HostState {
  return !h.enrolled ? 'not enrolled' : h.online ? 'online' : 'offline';
}

export interface HostFilter {
  text: string;
  state: string;
  release: string;
}

type Term = { kind: 'name'; value: string } | { kind: 'label'; key: string; value: string; not: boolean };

/** "site=lab, tier!=canary sensor-1": label terms and name fragments, all of which must hold. */
export function parseFilter(text: string): Term[] {
  return text.split(/[\s,]+/).filter(Boolean).map((t): Term => {
    const m = /^([^=!]+)(!?=)(.*)$/.exec(t);
    return m ? { kind: 'label', key: m[1]!, value: m[3]!, not: m[2] === '!=' } : { kind: 'name', value: t.toLowerCase() };
  });
}

export function filterHosts(hosts: readonly HostView[], f: HostFilter): HostView[] {
  const terms = parseFilter(f.text);
  return hosts.filter((h) => {
    if (f.state !== 'all') {
      if (f.state === 'unhealthy') {
        if (h.health === null || h.health === 'ok') return false;
      } else if (hostState(h) !== f.state) return false;
    }
    if (f.release !== 'all' && (f.release === 'none' ? h.release !== null : h.release !== f.release)) return false;
    for (const t of terms) {
      if (t.kind === 'name') {
        if (!h.name.toLowerCase().includes(t.value)) return false;
      } else if ((h.labels[t.key] === t.value) === t.not) return false;
    }
    return true;
  });
}

type SortKey = 'name' | 'state' | 'health' | 'release' | 'contact' | 'cert';
const COLUMNS: ReadonlyArray<{ key: SortKey | null; label: string; cls: string }> = [
  { key: 'name', label: 'Host', cls: 'c-name' },
  { key: 'state', label: 'State', cls: 'c-state' },
  { key: 'health', label: 'Health', cls: 'c-health' },
  { key: 'release', label: 'Release', cls: 'c-release' },
  { key: null, label: 'Labels', cls: 'c-labels' },
  { key: 'contact', label: 'Last contact', cls: 'c-contact' },
  { key: 'cert', label: 'Cert expires', cls: 'c-cert' },
];

function sortValue(h: HostView, key: SortKey): string {
  switch (key) {
    case 'name': return h.name;
    case 'state': return hostState(h);
    case 'health': return h.health ?? '~';
    case 'release': return `${h.version ?? '~'} ${h.release ?? ''}`;
    case 'contact': return h.lastContact ?? '';
    case 'cert': return h.certExpiry ?? '~';
  }
}

export function HostsTable(props: { hosts: readonly HostView[]; filter: HostFilter; setFilter: (f: HostFilter) => void; releases: ReadonlyArray<{ release: string; version: string | null }>; now: number }) {
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const [scrollTop, setScrollTop] = useState(0);
  const [active, setActive] = useState(0);
  const [viewport, setViewport] = useState(600);
  const box = useRef<HTMLDivElement>(null);

  const rows = useMemo(() => {
    const list = filterHosts(props.hosts, props.filter);
    const k = sort.key;
    // Names are unique and the input is sorted by name: a stable sort by the key keeps ties in name order.
    if (k !== 'name') list.sort((a, b) => { const x = sortValue(a, k); const y = sortValue(b, k); return x < y ? -1 : x > y ? 1 : 0; });
    if (sort.desc) list.reverse();
    return list;
  }, [props.hosts, props.filter, sort]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);
  const shown = rows.slice(first, last);

  const onScroll = (e: Event): void => {
    const el = e.currentTarget as HTMLDivElement;
    setScrollTop(el.scrollTop);
    if (el.clientHeight !== viewport) setViewport(el.clientHeight);
  };
  const moveTo = (i: number): void => {
    const n = Math.max(0, Math.min(rows.length - 1, i));
    setActive(n);
    const el = box.current;
    if (!el) return;
    if (n * ROW_HEIGHT < el.scrollTop) el.scrollTop = n * ROW_HEIGHT;
    else if ((n + 1) * ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = (n + 1) * ROW_HEIGHT - el.clientHeight;
  };
  const onKey = (e: KeyboardEvent): void => {
    const page = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: rows.length - 1 };
    const to = moves[e.key];
    if (to === undefined) return;
    e.preventDefault();
    moveTo(to);
  };
  const f = props.filter;
  const set = (patch: Partial<HostFilter>): void => {
    props.setFilter({ ...f, ...patch });
    if (box.current) box.current.scrollTop = 0;
    setScrollTop(0);
    setActive(0);
  };

  return (
    <section aria-label="hosts" class="hosts">
      <div class="filters" role="search">
        <label>Filter <input id="host-filter" data-testid="host-filter" type="search" value={f.text} placeholder="name, or label site=lab, tier!=canary  ( / )" onInput={(e) => set({ text: (e.currentTarget as HTMLInputElement).value })} /></label>
        <label>State <select data-testid="state-filter" value={f.state} onChange={(e) => set({ state: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="all">all</option><option value="online">online</option><option value="offline">offline</option><option value="not enrolled">not enrolled</option><option value="unhealthy">unhealthy</option>
        </select></label>
        <label>Release <select data-testid="release-filter" value={f.release} onChange={(e) => set({ release: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="all">all</option>
          {props.releases.map((r) => <option key={r.release} value={r.release}>{r.version ?? '?'} ({shortId(r.release)})</option>)}
          <option value="none">no release</option>
        </select></label>
        <span class="count" data-testid="host-count" aria-live="polite">{rows.length === props.hosts.length ? `${rows.length.toLocaleString('en')} hosts` : `${rows.length.toLocaleString('en')} of ${props.hosts.length.toLocaleString('en')} hosts`}</span>
      </div>
      <div class="grid" role="table" aria-label="hosts" aria-rowcount={rows.length + 1}>
        <div class="row head" role="row">
          {COLUMNS.map((c) => (
            <div key={c.label} role="columnheader" class={c.cls} aria-sort={c.key && sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : undefined}>
              {c.key ? <button type="button" data-testid={`sort-${c.key}`} onClick={() => setSort({ key: c.key!, desc: sort.key === c.key ? !sort.desc : false })}>{c.label}{sort.key === c.key ? (sort.desc ? ' ▼' : ' ▲') : ''}</button> : c.label}
            </div>
          ))}
        </div>
        {rows.length === 0 ? (
          <Notice kind="empty" title={props.hosts.length === 0 ? 'No hosts yet' : 'No host matches these filters'}>
            {props.hosts.length === 0 ? <>Add one with <code>swarmctl host add NAME --address ADDR</code> and run the printed join command on it.</> : <>Clear the filter or pick another state or release.</>}
          </Notice>
        ) : (
          <div class="body" ref={box} tabIndex={0} style={{ height: `${Math.min(rows.length * ROW_HEIGHT, MAX_BODY_HEIGHT)}px` }} onScroll={onScroll} onKeyDown={onKey} data-testid="hosts-body" aria-activedescendant={`host-row-${active}`} aria-label="hosts; arrow keys move, Page Up/Down, Home, End">
            <div class="spacer" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
              {shown.map((h, i) => {
                const idx = first + i;
                const state = hostState(h);
                return (
                  <div key={h.name} id={`host-row-${idx}`} role="row" aria-rowindex={idx + 2} class={`row${idx === active ? ' active' : ''}`} style={{ top: `${idx * ROW_HEIGHT}px` }} data-host={h.name} data-state={state}>
                    <div role="cell" class="c-name">{h.name}</div>
                    <div role="cell" class="c-state"><Badge value={state} /></div>
                    <div role="cell" class="c-health">{h.health ? <Badge value={h.health} /> : <span class="muted">-</span>}</div>
                    <div role="cell" class="c-release" title={h.release ?? ''}>{h.version ?? '-'} <span class="muted mono">{h.release ? shortId(h.release) : ''}</span></div>
                    <div role="cell" class="c-labels">{Object.entries(h.labels).map(([k, v]) => <span key={k} class="label">{k}={v}</span>)}</div>
                    <div role="cell" class="c-contact">{relativeTime(h.lastContact, props.now)}</div>
                    <div role="cell" class="c-cert">{relativeTime(h.certExpiry, props.now)}</div>
                  </div>
                );
              })}
            </div>
          </div>
        )}
      </div>
    </section>
  );
}
