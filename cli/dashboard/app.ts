// The dashboard's local web server (plain HTTP on loopback): the built page, read-only JSON reads of the controller
// made with the operator identity this process holds, and one live event stream per tab. Every request passes the
// guard (Host, Origin, method, token) before anything else; the browser never sees a key.
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { installErrorHandler, parseInput } from '../../shared/http.js';
import { LIMITS } from '../../shared/limits.js';
import { packageVersion } from '../../shared/package-version.js';
import { cliError } from '../errors.js';
import { judgeRequest, sameSecret, type GuardPolicy } from './guard.js';
import { HUB_LIMITS, LiveHub, type HubLimits, type HubMessage } from './hub.js';
import type { PageFile } from './page-files.js';
import { RolloutListSchema, RolloutSchema, type DashboardSource } from './source.js';

export interface DashboardAppDeps {
  source: DashboardSource;
  /** The token and the Host values the guard admits (set once the port is known: see `allow`). */
  policy: { token: string; hosts: Set<string> };
  page: ReadonlyMap<string, PageFile>;
  hub?: Partial<HubLimits>;
  stream?: Partial<{ heartbeatMs: number; maxBufferedBytes: number; maxStreams: number }>;
}

export interface DashboardApp {
  app: FastifyInstance;
  hub: LiveHub;
}

const RolloutParams = z.object({ id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a rollout id') });
const TokenQuery = z.looseObject({ token: z.string().max(256).optional() });

/** The cookie that carries the token after the first visit (per port: cookies do not tell ports apart). */
export function tokenCookieName(port: number): string {
  return `swarm_dashboard_${port}`;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function tokenOf(req: FastifyRequest, port: number): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const q = TokenQuery.safeParse(req.query);
  if (q.success && q.data.token) return q.data.token;
  return cookieValue(req.headers.cookie, tokenCookieName(port));
}

function portOf(req: FastifyRequest): number {
  return req.raw.socket.localPort ?? 0;
}

/**
 * The page may load only its own script and style and talk only to its own origin; nothing is framed, no form
 * posts anywhere, no plugin runs. Plain HTTP on loopback: no HSTS, no upgrade of requests to https.
 */
const CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
  },
};

export async function buildDashboardApp(deps: DashboardAppDeps): Promise<DashboardApp> {
  const app = Fastify({ logger: false, bodyLimit: 1024, forceCloseConnections: true, return503OnClosing: true });
  const hub = new LiveHub(deps.source, { ...HUB_LIMITS, ...deps.hub });
  const stream = {
    heartbeatMs: deps.stream?.heartbeatMs ?? LIMITS['dashboard.sse-heartbeat'].value,
    maxBufferedBytes: deps.stream?.maxBufferedBytes ?? LIMITS['dashboard.sse-client-buffer'].value,
    maxStreams: deps.stream?.maxStreams ?? LIMITS['dashboard.max-streams'].value,
  };
  const policy: GuardPolicy = deps.policy;

  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: CSP,
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: true,
    referrerPolicy: { policy: 'no-referrer' },
  });
  // The guard runs on every request (unknown routes and refused methods too), after helmet has set its headers so
  // refusals carry them as well.
  app.addHook('onRequest', async (req, reply) => {
    const verdict = judgeRequest({ method: req.method, host: req.headers.host, origin: req.headers.origin, token: tokenOf(req, portOf(req)) }, policy);
    if (!verdict.ok) {
      const err = cliError(verdict.code, verdict.message);
      return reply.code(err.status).header('cache-control', 'no-store').send(err.toJSON());
    }
  });
  installErrorHandler(app);

  const sendFile = (reply: FastifyReply, name: string): FastifyReply => {
    const file = deps.page.get(name);
    if (!file) throw cliError('SWARM_ERR_DASHBOARD_PAGE_MISSING', `the dashboard page has no ${name}; run npm run build`);
    return reply.header('content-type', file.type).header('cache-control', 'no-store').send(file.body);
  };

  app.get('/', async (req, reply) => {
    const q = TokenQuery.parse(req.query);
    if (q.token !== undefined) {
      // Keep the token in a cookie only this origin's requests carry, and take it out of the address bar (and so out
      // of history and screenshots). The guard may have admitted the request by another credential: only the right
      // token is kept.
      if (sameSecret(q.token, policy.token)) reply.header('set-cookie', `${tokenCookieName(portOf(req))}=${q.token}; Path=/; HttpOnly; SameSite=Strict`);
      return reply.header('cache-control', 'no-store').redirect('/', 303);
    }
    return sendFile(reply, 'index.html');
  });
  app.get('/app.js', async (_req, reply) => sendFile(reply, 'app.js'));
  app.get('/app.css', async (_req, reply) => sendFile(reply, 'app.css'));

  app.get('/api/info', async () => ({
    controller: deps.source.controller,
    operator: deps.source.operator,
    version: packageVersion(),
    pollMs: LIMITS['dashboard.hosts-poll-interval'].value,
  }));
  app.get('/api/hosts', async () => hub.hosts());
  app.get('/api/rollouts', async () => deps.source.read('/v1/rollouts', RolloutListSchema));
  app.get('/api/rollouts/:id', async (req) => {
    const { id } = parseInput(RolloutParams, req.params, 'params');
    return deps.source.read(`/v1/rollouts/${encodeURIComponent(id)}`, RolloutSchema);
  });

  const ends = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...ends]) end();
    hub.close();
  });
  app.get('/api/events', async (_req, reply) => {
    if (ends.size >= stream.maxStreams) throw cliError('SWARM_ERR_DASHBOARD_BUSY', `this dashboard already serves ${stream.maxStreams} live streams; close some tabs`);
    reply.hijack();
    const res = reply.raw;
    const sub: { off?: () => void } = {};
    const end = (): void => {
      if (!ends.delete(end)) return;
      clearInterval(heartbeat);
      sub.off?.();
      if (!res.destroyed) res.destroy();
    };
    const write = (text: string): void => {
      if (!ends.has(end)) return;
      res.write(text);
      // A tab that stops reading is closed, not buffered for: it reconnects and re-reads everything.
      if (res.writableLength > stream.maxBufferedBytes) end();
    };
    ends.add(end);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store, no-transform',
      connection: 'keep-alive',
      ...securityHeaders(reply),
    });
    write('retry: 2000\n: stream open\n\n');
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), stream.heartbeatMs);
    heartbeat.unref();
    res.on('close', end);
    res.on('error', end);
    sub.off = hub.subscribe((m: HubMessage) => write(`event: ${m.event}\ndata: ${JSON.stringify(m.data)}\n\n`));
    // Ended while subscribing (a full buffer): let go at once.
    if (!ends.has(end)) sub.off();
    return reply;
  });

  return { app, hub };
}

/** Helmet's headers, which a hijacked reply would otherwise lose. */
function securityHeaders(reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (typeof v === 'string') out[k] = v;
  return out;
}
