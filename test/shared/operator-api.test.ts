// The operator API's schemas describe exactly what the controller's read models build: no field missing, none extra.
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { buildHostView, viewCertificate } from '../../controller/host-view.js';
import { AddHostRequestSchema, CertificateViewSchema, HostViewSchema, LabelRequestSchema, SetAddressRequestSchema } from '../../shared/operator-api.js';
import { agentHealth, updaterStatus } from '../controller/helpers.js';

/** Parses, and has exactly the schema's keys at the top and in every nested object the schema names. */
function assertExact(schema: z.ZodObject, value: unknown, where = 'view'): void {
  assert.ok(schema.safeParse(value).success, `${where} does not parse: ${JSON.stringify(schema.safeParse(value).error?.issues)}`);
  const obj = value as Record<string, unknown>;
  assert.deepEqual(Object.keys(obj).sort(), Object.keys(schema.shape).sort(), `${where}: keys differ from the schema`);
  for (const [key, field] of Object.entries(schema.shape)) {
    const inner = (field as z.ZodType & { unwrap?: () => z.ZodType }).unwrap?.() ?? field;
    if (obj[key] !== null && typeof obj[key] === 'object' && !Array.isArray(obj[key]) && 'shape' in (inner as object)) {
      assertExact(inner as z.ZodObject, obj[key], `${where}.${key}`);
    }
  }
}

describe('shared/operator-api: the wire types of operators', () => {
  const host = { name: 'h1', address: '10.0.0.1:8766', labels: { site: 'a' }, createdAt: 0, enrolledAt: 1, removedAt: null };
  const reports = { hostName: 'h1', lastContact: 1000, agent: { report: agentHealth('r1', '1.0'), at: 1000, certNotAfter: 5000 }, updater: { report: updaterStatus('r0', '0.9'), at: 1000, certNotAfter: 6000 } };

  it('a host view, with and without reports, is exactly HostViewSchema', () => {
    const base = { host, certs: [], channels: { agent: true, updater: false }, offlineTimeoutMs: 30_000, now: 2000 };
    assertExact(HostViewSchema, buildHostView({ ...base, reports }));
    assertExact(HostViewSchema, buildHostView({ ...base, reports: undefined }));
  });

  it('a certificate view is exactly CertificateViewSchema', () => {
    const cert = { serial: 'ab', role: 'agent' as const, name: 'h1', notBefore: 0, notAfter: 10, issuedAt: 0, revokedAt: null };
    assertExact(CertificateViewSchema, viewCertificate('c1', cert, 5));
    assertExact(CertificateViewSchema, viewCertificate('c1', { ...cert, revokedAt: 3 }, 5));
  });

  it('request bodies are checked at the controller as swarmctl sends them', () => {
    assert.ok(AddHostRequestSchema.safeParse({ name: 'h1', address: 'sensor-a.lab:8766', labels: { site: 'a' }, tokenTtlMs: 60_000 }).success);
    assert.ok(!AddHostRequestSchema.safeParse({ name: 'h1', address: 'h:70000' }).success, 'a port past 65535');
    assert.ok(!AddHostRequestSchema.safeParse({ name: 'h1', tokenTtlMs: 1000 }).success, 'a token shorter than a minute');
    assert.ok(!AddHostRequestSchema.safeParse({ name: 'h1', extra: 1 }).success, 'unknown fields');
    assert.ok(SetAddressRequestSchema.safeParse({ address: null }).success);
    assert.deepEqual(LabelRequestSchema.parse({}), { set: {}, remove: [] });
  });
});
