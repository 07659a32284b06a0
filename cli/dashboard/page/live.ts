// The page's data: JSON reads of its own origin and one EventSource (/api/events). Host diffs are applied in place;
// rollout events only mark what is stale, and stale views are re-read at most once per interval (coalesced).
import type { ApiError, ControllerHealth, HostSnapshot, HostView, Info, RolloutJson, RolloutSummary } from './types.js';

export class FetchError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** GET a path of the dashboard's own origin; the answer's { code, message } becomes a FetchError. */
export async function getJson<T>(path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new FetchError(0, 'DASHBOARD_DOWN', 'the dashboard server does not answer; if swarmctl dashboard was stopped, run it again and open its new URL');
  }
  const body = (await res.json().catch(() => ({}))) as unknown;
  if (!res.ok) {
    const e = body as Partial<ApiError>;
    throw new FetchError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? `the dashboard answered ${res.status}`);
  }
  return body as T;
}

export interface LiveState {
  info: Info | undefined;
  /** Whether the controller answers the dashboard (its banner). */
  health: ControllerHealth;
  /** Whether the page's own stream to the dashboard is up. */
  connected: boolean;
  hosts: HostSnapshot | undefined;
  hostsError: FetchError | undefined;
  rollouts: RolloutSummary[] | undefined;
  rolloutsError: FetchError | undefined;
  /** Bumped whenever a rollout may have changed; views of one rollout re-read when it moves. */
  rolloutTick: number;
  /** Ids named by events since the last tick ('*': all, after a resync). */
  touched: ReadonlySet<string>;
}

const COALESCE_MS = 300;

/** A throttle: `fn` runs at most once per `ms`, and once more after the last call of a burst. */
function coalesce(fn: () => Promise<void>, ms: number): () => void {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    last = Date.now();
    try {
      await fn();
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = (): void => {
    if (timer) return;
    timer = setTimeout(() => void run(), Math.max(0, last + ms - Date.now()));
  };
  return schedule;
}

export function sortHosts(hosts: HostView[]): HostView[] {
  return hosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface Live {
  stop(): void;
  /** The host list is read only once a view needs it (the rollout page of a large fleet does not wait for it). */
  wantHosts(): void;
}

/** Start the live state; `emit` gets every new state. */
export function startLive(emit: (s: LiveState) => void): Live {
  let state: LiveState = {
    info: undefined,
    health: { ok: true, message: null, since: new Date().toISOString() },
    connected: true,
    hosts: undefined,
    hostsError: undefined,
    rollouts: undefined,
    rolloutsError: undefined,
    rolloutTick: 0,
    touched: new Set(),
  };
  const set = (patch: Partial<LiveState>): void => {
    state = { ...state, ...patch };
    emit(state);
  };
  let touched = new Set<string>();
  let hostsWanted = false;

  const readHostsNow = coalesce(async () => {
    try {
      const snap = await getJson<HostSnapshot>('/api/hosts');
      sortHosts(snap.hosts);
      if (!state.hosts || snap.version >= state.hosts.version || snap.at > state.hosts.at) set({ hosts: snap, hostsError: undefined });
    } catch (err) {
      set({ hostsError: err as FetchError });
    }
  }, COALESCE_MS);
  const readHosts = (): void => {
    if (hostsWanted) readHostsNow();
  };
  const readRollouts = coalesce(async () => {
    try {
      const list = await getJson<RolloutSummary[]>('/api/rollouts');
      list.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
      const t = touched;
      touched = new Set();
      set({ rollouts: list, rolloutsError: undefined, rolloutTick: state.rolloutTick + 1, touched: t });
    } catch (err) {
      set({ rolloutsError: err as FetchError });
    }
  }, COALESCE_MS);

  void getJson<Info>('/api/info').then((info) => set({ info }), () => undefined);
  readRollouts();

  const es = new EventSource('/api/events');
  let wasOpen = false;
  es.addEventListener('open', () => {
    // After a reconnect, what happened meanwhile is read again.
    if (wasOpen) {
      touched.add('*');
      readHosts();
      readRollouts();
    }
    wasOpen = true;
    set({ connected: true });
  });
  es.addEventListener('error', () => set({ connected: false }));
  es.addEventListener('health', (e) => {
    const health = JSON.parse((e as MessageEvent<string>).data) as ControllerHealth;
    set({ health });
    if (health.ok && (state.hostsError || state.rolloutsError)) {
      readHosts();
      readRollouts();
    }
  });
  es.addEventListener('hosts', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { version: number; base: number; changed: HostView[]; removed: string[]; status: HostSnapshot['status'] };
    const cur = state.hosts;
    if (!cur || cur.version !== d.base) readHosts();
    else {
      const byName = new Map(cur.hosts.map((h) => [h.name, h]));
      for (const h of d.changed) byName.set(h.name, h);
      for (const n of d.removed) byName.delete(n);
      set({ hosts: { version: d.version, at: new Date().toISOString(), hosts: sortHosts([...byName.values()]), status: d.status } });
    }
    // Hosts that moved usually mean a rollout moved: a safety net under the event stream.
    touched.add('*');
    readRollouts();
  });
  es.addEventListener('rollouts', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { resync: boolean; events: Array<{ rollout: string }> };
    if (d.resync) touched.add('*');
    for (const ev of d.events) touched.add(ev.rollout);
    readRollouts();
  });
  return {
    stop: () => es.close(),
    wantHosts: () => {
      if (hostsWanted) return;
      hostsWanted = true;
      readHostsNow();
    },
  };
}

/** One rollout's document, re-read (coalesced) whenever the live state says it may have moved. */
export async function readRollout(id: string): Promise<RolloutJson> {
  return getJson<RolloutJson>(`/api/rollouts/${encodeURIComponent(id)}`);
}
