// POST /v1/pki/renew: an enrolled identity renews itself, with a fresh key, and nothing else.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { verifyCsr } from '../../pki/index.js';
import { RenewRequestSchema, type RenewResponse } from '../../shared/enroll-protocol.js';
import { identityGuard, parseInput } from '../../shared/http.js';
import { getPeer } from '../../shared/tls.js';
import { LIMITS } from '../../shared/limits.js';
import { canRenew } from '../authz.js';
import { announceSuperseded, type ControllerContext } from '../context.js';
import { controllerError } from '../errors.js';
import { keySha256Of } from '../issuer.js';

function spkiDer(keyPem: string | KeyObject): Buffer {
  return (typeof keyPem === 'string' ? createPublicKey(keyPem) : keyPem).export({ type: 'spki', format: 'der' });
}

const keyReused = () =>
  controllerError('SWARM_ERR_RENEW_KEY_REUSED', 'the renewal CSR carries a key this identity was certified with before; generate a new key for each renewal');

/** Renewals per identity per window: a stolen identity must not fill the certificate table (each one is a row). */
export interface RenewLimits {
  max: number;
  windowMs: number;
}

export function renewRoutes(ctx: ControllerContext, limits: RenewLimits = { max: LIMITS['renew.per-identity-per-minute'].value, windowMs: 60_000 }) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('onRequest', identityGuard({ cluster: ctx.cluster, authorize: canRenew, isRevoked: (s) => ctx.denylist.has(s) }));
    // Keyed on the verified identity (all its certificates together), never on headers; anonymous callers by address.
    const keyGenerator = (req: FastifyRequest): string => {
      const peer = getPeer(req.raw.socket as TLSSocket, ctx.cluster);
      return peer ? `${peer.identity.role}/${peer.identity.name}` : `ip:${req.ip}`;
    };
    app.post('/v1/pki/renew', { config: { rateLimit: { max: limits.max, timeWindow: limits.windowMs, keyGenerator } } }, async (req) => {
      const peer = req.peer!;
      const refuse = (why: string): never => {
        ctx.metrics.renewals.refused++;
        req.log.warn({ op: 'renew', identity: peer.identity, serial: peer.serial, reason: why }, 'renewal refused');
        throw controllerError('SWARM_ERR_RENEW_REFUSED', `renewal refused: ${why}`);
      };
      const record = await ctx.store.getCertificate(peer.serial);
      if (!record || record.revokedAt !== null) refuse('this certificate is not an active certificate of this controller; re-enroll');
      if (peer.identity.role !== 'operator') {
        const host = await ctx.store.getHost(peer.identity.name);
        if (!host || host.removedAt !== null) refuse(`host ${peer.identity.name} is not registered; re-enroll`);
      }
      const body = parseInput(RenewRequestSchema, req.body, 'body');
      const csr = verifyCsr(body.csr);
      const current = (req.raw.socket as TLSSocket).getPeerX509Certificate();
      if (current && spkiDer(current.publicKey).equals(spkiDer(csr.publicKeyPem))) {
        ctx.metrics.renewals.refused++;
        throw controllerError('SWARM_ERR_RENEW_KEY_REUSED', 'the renewal CSR carries the current key; generate a new key for each renewal');
      }
      // A fresh key was never certified: not for this identity before, and not for any other (the host's other
      // role above all: one stolen key must not be both its agent and its updater).
      const holders = await ctx.store.findCertificatesByKey(keySha256Of(csr.publicKeyPem));
      const other = holders.find((c) => c.role !== peer.identity.role || c.name !== peer.identity.name);
      if (other) {
        ctx.metrics.renewals.refused++;
        req.log.warn({ op: 'renew', identity: peer.identity, serial: peer.serial, keyOf: `${other.role}/${other.name}` }, 'renewal refused: the key belongs to another identity');
        throw controllerError('SWARM_ERR_RENEW_KEY_IN_USE', `the renewal CSR carries the key of ${other.role}/${other.name}; generate a new key for ${peer.identity.role}/${peer.identity.name}`);
      }
      if (holders.length > 0) {
        ctx.metrics.renewals.refused++;
        throw keyReused();
      }
      // At most the new certificate and the presenting one stay valid; the presenting one goes once the new one is used.
      // The checks above are made again where the certificate is recorded, with the retirement, in one transaction:
      // a removal or a second renewal racing this one cannot leave an extra valid certificate.
      const outcome = await ctx.issuer.issueGuarded(peer.identity.role, peer.identity.name, csr.publicKeyPem, {
        renewing: peer.serial,
        ...(peer.identity.role === 'operator' ? {} : { host: 'active' as const }),
      });
      if (!outcome.ok) {
        if (outcome.reason === 'key-known') {
          ctx.metrics.renewals.refused++;
          throw keyReused();
        }
        return refuse(outcome.reason === 'host-missing' ? `host ${peer.identity.name} is not registered; re-enroll` : 'this certificate is not an active certificate of this controller; re-enroll');
      }
      const { issued, retired } = outcome;
      await announceSuperseded(ctx, retired, retired);
      ctx.supersession.renewed(peer.identity.role, peer.identity.name, peer.serial, issued.serial);
      ctx.metrics.renewals.ok++;
      req.log.info({ op: 'renew', host: peer.identity.name, role: peer.identity.role, serial: issued.serial, retired }, 'certificate renewed');
      if (peer.identity.role === 'operator') {
        await ctx.store.appendAudit({ at: ctx.clock.now(), actor: `spiffe://${ctx.cluster}/operator/${peer.identity.name}`, action: 'operator.renew', target: peer.identity.name, details: { serial: issued.serial } });
      }
      const res: RenewResponse = { cert: issued.certPem, ca: ctx.issuer.ca.certPem, notAfter: new Date(issued.notAfter).toISOString() };
      return res;
    });
  };
}
