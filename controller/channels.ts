// The agent and updater WebSocket channels once open: every message validated, the report budget, ping/pong, revocation.
// Who may open one is decided before the upgrade, by the channel routes (routes/channels.ts).
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CLOSE_CODES, reportSchemaFor, type ChannelRole, type RevokedMessage } from '../shared/channel-protocol.js';
import { LIMITS } from '../shared/limits.js';
import type { Clock } from '../shared/clock.js';
import type { Peer } from '../shared/http.js';
import { spiffeUri } from '../shared/identity.js';
import { sharedError, type SwarmError } from '../shared/errors.js';
import { formatZodIssues } from '../shared/validation.js';
import { defaultBudgetPolicy, freshBudget, spendReport, type ReportBudget, type ReportBudgetPolicy } from './channel-budget.js';
import { controllerError } from './errors.js';
import type { ReportCache } from './reports.js';
import type { Denylist } from './revocation.js';

export interface ChannelHubOptions {
  reports: ReportCache;
  denylist: Denylist;
  clock: Clock;
  logger: Logger;
  heartbeatMs: number;
  pingIntervalMs: number;
  /** Reports per channel (default: LIMITS channels.*, refilled per heartbeatMs). */
  reportBudget?: Partial<ReportBudgetPolicy>;
}

interface Channel {
  ws: WebSocket;
  role: ChannelRole;
  host: string;
  serial: string;
  alive: boolean;
  budget: ReportBudget;
  /** Closed for flooding: what is still in flight is not even parsed. */
  closing: boolean;
}

/**
 * How long a revoked host's channel has to read its close frame (4003) before its socket is cut, here and with every
 * other socket of its serials (controller/context.ts). A loaded host that had not read the frame within 250-300 ms saw
 * only a reset (1006) and could not log why it was cut; its requests are refused by the denylist meanwhile.
 */
export const REVOKED_CLOSE_GRACE_MS = 1_000;

/** An error message on a channel: a catalogued code and its message (the hosts log it). */
function sendError(ch: Channel, err: SwarmError): void {
  ch.ws.send(JSON.stringify({ type: 'error', ...err.toJSON() }));
}

export class ChannelHub {
  readonly #o: ChannelHubOptions;
  readonly #channels = new Map<string, Channel>(); // key: role/host
  readonly #budget: ReportBudgetPolicy;
  /** When each role/host channel last showed life (open, message, pong, close); kept after the channel closes. */
  readonly #lastSeen = new Map<string, number>();
  /** When this hub (the controller process) started: channels of a restarted controller are still reconnecting. */
  readonly startedAt: number;
  #pingTimer: NodeJS.Timeout | undefined;

  constructor(options: ChannelHubOptions) {
    this.#o = options;
    this.#budget = { ...defaultBudgetPolicy(options.heartbeatMs), ...options.reportBudget };
    this.startedAt = options.clock.now();
  }

  /** Start pinging the open channels; a peer that misses a ping interval is cut. */
  start(): void {
    const tick = (): void => {
      this.#pingAll();
      this.#pingTimer = this.#o.clock.setTimeout(tick, this.#o.pingIntervalMs);
      this.#pingTimer.unref?.();
    };
    this.#pingTimer = this.#o.clock.setTimeout(tick, this.#o.pingIntervalMs);
    this.#pingTimer.unref?.();
  }

  counts(): { agent: number; updater: number } {
    let agent = 0;
    let updater = 0;
    for (const c of this.#channels.values()) {
      if (c.role === 'agent') agent++;
      else updater++;
    }
    return { agent, updater };
  }

  /** Every channel open on this process (what it records as its presence for other replicas). */
  openChannels(): Array<{ role: ChannelRole; host: string }> {
    return [...this.#channels.values()].map((c) => ({ role: c.role, host: c.host }));
  }

  isOpen(role: ChannelRole, host: string): boolean {
    return this.#channels.has(`${role}/${host}`);
  }

  /** When this process last heard from the host's channel of this role (undefined: not since it started). */
  lastSeen(role: ChannelRole, host: string): number | undefined {
    return this.#lastSeen.get(`${role}/${host}`);
  }

  /**
   * Close the channels of a removed host now: a close frame (4003 revoked), then the socket within REVOKED_CLOSE_GRACE_MS.
   * The channel leaves the hub at once, so nothing it still sends counts.
   */
  closeHost(host: string, reason: 'revoked' = 'revoked'): number {
    let n = 0;
    for (const role of ['agent', 'updater'] as const) {
      const ch = this.#channels.get(`${role}/${host}`);
      if (!ch) continue;
      this.#channels.delete(`${role}/${host}`);
      this.#lastSeen.delete(`${role}/${host}`);
      ch.ws.close(CLOSE_CODES.revoked, reason);
      setTimeout(() => ch.ws.terminate(), REVOKED_CLOSE_GRACE_MS).unref();
      n++;
    }
    return n;
  }

  /** Tell every open channel to refuse these serials from now on (hosts enforce revocation too). */
  broadcastRevoked(serials: readonly string[]): void {
    if (serials.length === 0) return;
    for (const ch of this.#channels.values()) this.#sendRevoked(ch, serials);
  }

  #sendRevoked(ch: Channel, serials: readonly string[]): void {
    const max = LIMITS['revocation.maxSerialsPerMessage'].value;
    for (let i = 0; i < serials.length; i += max) {
      const msg: RevokedMessage = { type: 'revoked', serials: serials.slice(i, i + max) };
      ch.ws.send(JSON.stringify(msg));
    }
  }

  close(): void {
    if (this.#pingTimer) this.#o.clock.clearTimeout(this.#pingTimer);
    for (const ch of this.#channels.values()) ch.ws.terminate();
    this.#channels.clear();
  }

  /** Take over an upgraded channel of an identity the channel routes admitted; a newer channel replaces an older one. */
  open(ws: WebSocket, role: ChannelRole, peer: Peer): void {
    const { identity, serial } = peer;
    const key = `${role}/${identity.name}`;
    const previous = this.#channels.get(key);
    if (previous) {
      // A peer that never answers the close frame must not hold its socket for ws's 30 s close timeout:
      // one identity reconnecting in a loop would pile up connections.
      previous.ws.close(1000, 'replaced by a newer channel');
      setTimeout(() => previous.ws.terminate(), 250).unref();
    }
    const ch: Channel = { ws, role, host: identity.name, serial, alive: true, budget: freshBudget(this.#budget, this.#o.clock.now()), closing: false };
    this.#channels.set(key, ch);
    const seen = (): void => {
      if (this.#channels.get(key) === ch) this.#lastSeen.set(key, this.#o.clock.now());
    };
    seen();
    const log = this.#o.logger.child({ host: identity.name, channel: role });
    log.debug('channel open');
    ws.send(JSON.stringify({ type: 'welcome', identity: spiffeUri(identity), heartbeatMs: this.#o.heartbeatMs, pingIntervalMs: this.#o.pingIntervalMs }));
    // The whole denylist at once: a host that was cut off, or just started, refuses what was revoked meanwhile.
    this.#sendRevoked(ch, this.#o.denylist.list());
    const schema = reportSchemaFor(role);
    ws.on('pong', () => {
      ch.alive = true;
      seen();
    });
    ws.on('message', (data, isBinary) => {
      // A channel being closed (revoked, or replaced by a newer one) keeps delivering what was in flight:
      // none of it may count, or a removed host would reappear with its last words.
      if (this.#channels.get(key) !== ch || ch.closing) return;
      ch.alive = true;
      seen();
      // Before parsing: parsing is the cost a flooding host imposes.
      if (!this.#spend(ch)) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString());
      } catch {
        return this.#refuseMessage(ch, 'message is not JSON');
      }
      const r = schema.safeParse(parsed);
      if (!r.success) return this.#refuseMessage(ch, `invalid ${role} report: ${formatZodIssues(r.error)}`);
      this.#o.reports.record(identity.name, role, { report: r.data.report, at: this.#o.clock.now(), certNotAfter: Date.parse(r.data.certNotAfter) });
    });
    ws.on('close', () => {
      seen();
      if (this.#channels.get(key) === ch) this.#channels.delete(key);
      log.debug('channel closed');
    });
    ws.on('error', (err) => log.debug({ err }, 'channel error'));
  }

  /** Whether this report is within the channel's budget; over it the report is dropped with an error, and a flood closes the channel. */
  #spend(ch: Channel): boolean {
    const { budget, verdict } = spendReport(ch.budget, this.#o.clock.now(), this.#budget);
    ch.budget = budget;
    if (verdict === 'accept') return true;
    const per = `${this.#budget.perHeartbeat} reports per ${this.#budget.heartbeatMs} ms (burst ${this.#budget.burst})`;
    if (verdict === 'drop') {
      sendError(ch, controllerError('SWARM_ERR_CHANNEL_RATE_LIMITED', `report dropped: over the budget of ${per}; report at the heartbeat and on change only`));
      return false;
    }
    this.#o.logger.warn({ host: ch.host, channel: ch.role }, `channel closed: kept reporting past the budget of ${per}`);
    ch.closing = true;
    sendError(ch, controllerError('SWARM_ERR_CHANNEL_RATE_LIMITED', `channel closed: more than ${this.#budget.droppedBeforeClose} reports over the budget of ${per}`));
    ch.ws.close(CLOSE_CODES.rateLimited, 'report budget exceeded');
    setTimeout(() => ch.ws.terminate(), 250).unref();
    return false;
  }

  #refuseMessage(ch: Channel, message: string): void {
    this.#o.logger.warn({ host: ch.host, channel: ch.role }, message);
    sendError(ch, sharedError('SWARM_ERR_BAD_REQUEST', message));
    ch.ws.close(CLOSE_CODES.invalidMessage, 'invalid message');
  }

  #pingAll(): void {
    for (const [key, ch] of this.#channels) {
      if (!ch.alive) {
        this.#channels.delete(key);
        ch.ws.terminate();
        continue;
      }
      ch.alive = false;
      ch.ws.ping();
    }
  }
}
