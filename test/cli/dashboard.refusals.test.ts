// swarmctl dashboard's door, in-process (no browser): without the token, with a foreign Host (DNS rebinding), from a
// foreign Origin, or with a write method, a request is refused with its own code; the page, its script and the
// reads pass with the token; the page may load only its own origin's script and style (CSP).
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { buildDashboardApp, tokenCookieName } from '../../cli/dashboard/app.js';
import { isLoopback, judgeRequest, loopbackHosts } from '../../cli/dashboard/guard.js';
import type { PageFile } from '../../cli/dashboard/page-files.js';
import type { DashboardSource, StreamEvent } from '../../cli/dashboard/source.js';
import { remoteError } from '../../shared/remote-errors.js';
import '../../cli/errors.js';

const TOKEN = 'test-token-0123456789abcdef';
const PORT = 8780;
const HOST = `127.0.0.1:${PORT}`;

const HOST_VIEW = {
  name: 'h1', address: '127.0.0.1:8766', labels: { site: 'lab' }, enrolled: true, online: true, lastContact: null, release: null, version: null,
  health: null, agent: null, updater: null, certExpiry: null, channels: { agent: false, updater: true },
};
const STATUS = {
  cluster: 'c', hosts: { total: 1, enrolled: 1, online: 1, offline: 0, pending: 0 }, health: {}, releases: [], channels: { agent: 0, updater: 1 },
  certificates: { active: 2, revoked: 0, expiringSoon: 0 },
};

/** A controller stand-in that only answers reads and records every path it was asked for. */
export function fakeSource(options: { down?: boolean; events?: (emit: (e: StreamEvent) => void) => void } = {}): DashboardSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    controller: 'https://127.0.0.1:8770', operator: 'admin', reads,
    async read<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
      reads.push(path);
      if (options.down) throw remoteError('SWARM_ERR_CONTROLLER_UNREACHABLE', 'cannot reach the controller at https://127.0.0.1:8770 (ECONNREFUSED); check --controller and that it is running');
      const body = path === '/v1/hosts' ? [HOST_VIEW] : path === '/v1/status' ? STATUS : path === '/v1/rollouts' ? [] : undefined;
      if (body === undefined) throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `no fake answer for ${path}`);
      return schema.parse(body) as z.output<S>;
    },
    async streamEvents(signal, onEvent, onFrame) {
      onFrame();
      options.events?.(onEvent);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  };
}

const PAGE: ReadonlyMap<string, PageFile> = new Map([
  ['index.html', { type: 'text/html; charset=utf-8', body: Buffer.from('<!doctype html><title>t</title><script type="module" src="/app.js"></script>') }],
  ['app.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from('console.log(1)') }],
  ['app.css', { type: 'text/css; charset=utf-8', body: Buffer.from('body{}') }],
]);

describe('swarmctl dashboard: the guard (pure)', () => {
  const policy = { token: TOKEN, hosts: loopbackHosts('127.0.0.1', PORT) };
  const ok = { method: 'GET', host: HOST, origin: undefined, token: TOKEN };

  it('admits a GET with the token on a loopback Host, with or without its own Origin', () => {
    assert.deepEqual(judgeRequest(ok, policy), { ok: true });
    assert.deepEqual(judgeRequest({ ...ok, host: `localhost:${PORT}`, origin: `http://localhost:${PORT}` }, policy), { ok: true });
    assert.deepEqual(judgeRequest({ ...ok, method: 'HEAD' }, policy), { ok: true });
  });

  it('refuses each foreign thing with its own code', () => {
    const code = (v: ReturnType<typeof judgeRequest>): string => (v.ok ? 'ok' : v.code);
    assert.equal(code(judgeRequest({ ...ok, token: undefined }, policy)), 'SWARM_ERR_DASHBOARD_NO_TOKEN');
    assert.equal(code(judgeRequest({ ...ok, token: `${TOKEN}x` }, policy)), 'SWARM_ERR_DASHBOARD_NO_TOKEN');
    assert.equal(code(judgeRequest({ ...ok, host: `evil.example:${PORT}` }, policy)), 'SWARM_ERR_DASHBOARD_FOREIGN_HOST');
    assert.equal(code(judgeRequest({ ...ok, host: '127.0.0.1:9999' }, policy)), 'SWARM_ERR_DASHBOARD_FOREIGN_HOST');
    assert.equal(code(judgeRequest({ ...ok, host: undefined }, policy)), 'SWARM_ERR_DASHBOARD_FOREIGN_HOST');
    assert.equal(code(judgeRequest({ ...ok, origin: 'http://evil.example' }, policy)), 'SWARM_ERR_DASHBOARD_FOREIGN_ORIGIN');
    assert.equal(code(judgeRequest({ ...ok, origin: 'null' }, policy)), 'SWARM_ERR_DASHBOARD_FOREIGN_ORIGIN');
    assert.equal(code(judgeRequest({ ...ok, origin: `https://${HOST}` }, policy)), 'SWARM_ERR_DASHBOARD_FOREIGN_ORIGIN');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) assert.equal(code(judgeRequest({ ...ok, method }, policy)), 'SWARM_ERR_DASHBOARD_READ_ONLY');
    // A rebinding page learns nothing, not even that a token is needed: Host is judged first.
    assert.equal(code(judgeRequest({ method: 'POST', host: 'evil.example', origin: 'http://evil.example', token: undefined }, policy)), 'SWARM_ERR_DASHBOARD_FOREIGN_HOST');
  });

  it('knows loopback addresses from others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) assert.equal(isLoopback(h), false, h);
  });
});

describe('swarmctl dashboard: refusals at the server', () => {
  let app: FastifyInstance;
  let source: ReturnType<typeof fakeSource>;

  before(async () => {
    source = fakeSource();
    ({ app } = await buildDashboardApp({ source, policy: { token: TOKEN, hosts: loopbackHosts('127.0.0.1', PORT) }, page: PAGE }));
  });
  after(async () => {
    await app.close();
  });

  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { host: HOST, ...headers } });
  const bearer = { authorization: `Bearer ${TOKEN}` };

  it('refuses a request without the token (page and API) with SWARM_ERR_DASHBOARD_NO_TOKEN', async () => {
    for (const url of ['/', '/app.js', '/api/hosts', '/api/rollouts', '/api/events', '/no-such-route']) {
      const res = await get(url);
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.json().code, 'SWARM_ERR_DASHBOARD_NO_TOKEN', url);
      assert.match(res.json().message, /open the URL swarmctl dashboard printed/);
    }
    assert.equal((await get('/api/hosts', { authorization: 'Bearer wrong' })).json().code, 'SWARM_ERR_DASHBOARD_NO_TOKEN');
    assert.equal((await get(`/api/hosts?token=wrong`)).statusCode, 401);
  });

  it('refuses a foreign Host (DNS rebinding) with SWARM_ERR_DASHBOARD_FOREIGN_HOST, even with the token', async () => {
    const res = await get('/api/hosts', { ...bearer, host: `attacker.example:${PORT}` });
    assert.equal(res.statusCode, 421);
    assert.equal(res.json().code, 'SWARM_ERR_DASHBOARD_FOREIGN_HOST');
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/, 'refusals carry the security headers too');
  });

  it('refuses a foreign Origin with SWARM_ERR_DASHBOARD_FOREIGN_ORIGIN, even with the token', async () => {
    const res = await get('/api/hosts', { ...bearer, origin: 'https://attacker.example' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'SWARM_ERR_DASHBOARD_FOREIGN_ORIGIN');
  });

  it('refuses every write method with SWARM_ERR_DASHBOARD_READ_ONLY and never calls the controller for it', async () => {
    const before = source.reads.length;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      for (const url of ['/api/hosts', '/api/rollouts/r-1/pause', '/v1/rollback', '/']) {
        const res = await app.inject({ method, url, headers: { host: HOST, ...bearer, 'content-type': 'application/json' }, payload: '{}' });
        assert.equal(res.statusCode, 405, `${method} ${url}`);
        assert.equal(res.json().code, 'SWARM_ERR_DASHBOARD_READ_ONLY', `${method} ${url}`);
      }
    }
    assert.equal(source.reads.length, before, 'no write reached the controller side');
  });

  it('with the token: sets an HttpOnly SameSite=Strict cookie, drops the token from the address, serves page and reads', async () => {
    const first = await get(`/?token=${TOKEN}`);
    assert.equal(first.statusCode, 303);
    assert.equal(first.headers.location, '/');
    const cookie = String(first.headers['set-cookie']);
    assert.match(cookie, new RegExp(`^${tokenCookieName(0)}=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`));
    const withCookie = { cookie: cookie.split(';')[0]! };
    const page = await get('/', withCookie);
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    const csp = String(page.headers['content-security-policy']);
    for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
    assert.ok(!/unsafe-inline|unsafe-eval|https?:/.test(csp), `CSP allows nothing from elsewhere: ${csp}`);
    assert.equal(page.headers['strict-transport-security'], undefined, 'no HSTS on plain loopback HTTP');
    assert.equal((await get('/app.js', withCookie)).statusCode, 200);
    const hosts = await get('/api/hosts', withCookie);
    assert.equal(hosts.statusCode, 200);
    assert.deepEqual(hosts.json().hosts.map((h: { name: string }) => h.name), ['h1']);
    assert.equal(hosts.json().status.hosts.online, 1);
    assert.deepEqual(source.reads.filter((p) => p.startsWith('/v1/hosts') || p.startsWith('/v1/status')).sort(), ['/v1/hosts', '/v1/status']);
    assert.equal((await get('/api/rollouts/..%2Fhosts', withCookie)).json().code, 'SWARM_ERR_BAD_REQUEST', 'a rollout id cannot reach another controller path');
  });

  it('answers SWARM_ERR_CONTROLLER_UNREACHABLE (503) when the controller is down', async () => {
    const down = await buildDashboardApp({ source: fakeSource({ down: true }), policy: { token: TOKEN, hosts: loopbackHosts('127.0.0.1', PORT) }, page: PAGE });
    try {
      const res = await down.app.inject({ method: 'GET', url: '/api/hosts', headers: { host: HOST, ...bearer } });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().code, 'SWARM_ERR_CONTROLLER_UNREACHABLE');
      assert.equal(down.hub.health.ok, false);
    } finally {
      await down.app.close();
    }
  });
});

describe('swarmctl dashboard: on a real loopback socket', () => {
  let app: FastifyInstance;
  let port: number;
  const policy = { token: TOKEN, hosts: new Set<string>() };
  let emit: ((e: StreamEvent) => void) | undefined;

  before(async () => {
    ({ app } = await buildDashboardApp({ source: fakeSource({ events: (e) => (emit = e) }), policy, page: PAGE, hub: { batchMs: 20, pollMs: 60_000 } }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    for (const h of loopbackHosts('127.0.0.1', port)) policy.hosts.add(h);
  });
  after(async () => {
    await app.close();
  });

  /** A raw request, so the Host and Origin headers are exactly what a hostile page's browser would send. */
  const raw = (method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

  it('refuses a rebinding page, a cross-site fetch and a write over the wire; admits the page\'s own read', async () => {
    assert.equal((await raw('GET', `/api/hosts?token=${TOKEN}`, { host: `rebind.attacker.example:${port}` })).status, 421);
    assert.equal((await raw('GET', `/api/hosts?token=${TOKEN}`, { host: `127.0.0.1:${port}`, origin: 'http://attacker.example' })).status, 403);
    assert.equal((await raw('DELETE', `/api/hosts?token=${TOKEN}`, { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).status, 405);
    assert.equal((await raw('GET', '/api/hosts', { host: `127.0.0.1:${port}` })).status, 401);
    const ok = await raw('GET', `/api/hosts?token=${TOKEN}`, { host: `localhost:${port}`, origin: `http://localhost:${port}` });
    assert.equal(ok.status, 200, ok.body);
  });

  it('streams the controller\'s rollout events to the page in batches', async () => {
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/api/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.any([ac.signal, AbortSignal.timeout(10_000)]) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 100 && !re.test(text); i++) text += (await reader.read()).value ?? '';
      assert.match(text, re);
    };
    await until(/event: health\ndata: \{"ok":true/);
    const base = { at: '2026-01-01T00:00:00Z', host: 'h1', wave: 0, actor: null, reason: null, message: 'm' };
    for (let seq = 1; seq <= 3; seq++) emit!({ ...base, seq, type: 'host-succeeded', rollout: 'r-9' });
    await until(/event: rollouts\ndata: .*"seq":3/);
    const batches = text.split('event: rollouts').length - 1;
    assert.equal(batches, 1, 'three events in one batch');
    ac.abort();
  });
});
