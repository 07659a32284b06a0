// The release manifest (swarm-release.json) and the installed-release sidecar (.swarm-release.json): DESIGN.md §3-§4.
import { posix } from 'node:path';
import { z } from 'zod';

export const MANIFEST_FILE = 'swarm-release.json';
export const SIDECAR_FILE = '.swarm-release.json';

/** A path inside the release: relative, normalized, no `..`, no leading `./` tricks. */
export function isPathInsideRelease(p: string): boolean {
  if (p.length === 0 || p.length > 1024 || p.includes('\0') || p.includes('\\')) return false;
  if (posix.isAbsolute(p)) return false;
  const norm = posix.normalize(p);
  return norm === p.replace(/^\.\//, '') && !norm.startsWith('../') && norm !== '..' && norm !== '.';
}

/** Versions name directories (`<version>-<12 hex>`): no separators, no leading dot. */
export const VersionSchema = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/, {
  message: 'must be 1-64 characters of letters, digits, ".", "_", "+" or "-", starting with a letter or digit',
});

/** Service names appear in reports and tables: the manifest's rule is the only one. */
export const ServiceNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'must be lowercase letters, digits, "_" or "-"' });

/** A release id: the lowercase hex SHA-256 of the tarball. */
export const ReleaseIdSchema = z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lowercase hex digits (a release id)' });

/**
 * When the agent restarts a service that exited. Defined here, where a release declares it, and re-exported by
 * shared/wire.ts (which reports it): wire.ts imports this module, so the other way round would be a cycle.
 */
export const RestartPolicySchema = z.enum(['always', 'on-failure', 'never']);
export type RestartPolicy = z.output<typeof RestartPolicySchema>;

export const ServiceSpecSchema = z.strictObject({
  name: ServiceNameSchema,
  /** argv; argv[0] is a path inside the release or an absolute path to a system binary. */
  command: z
    .array(z.string().min(1).max(4096))
    .min(1)
    .max(256)
    .refine((c) => c[0] !== undefined && (posix.isAbsolute(c[0]) ? posix.normalize(c[0]) === c[0] : isPathInsideRelease(c[0])), {
      message: 'command[0] must be a path inside the release or a normalized absolute path',
    }),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(4096)).default({}),
  restart: RestartPolicySchema.default('always'),
  required: z.boolean().default(true),
});
export type ServiceSpec = z.output<typeof ServiceSpecSchema>;

export const ManifestSchema = z
  .looseObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { message: 'must be lowercase letters, digits, ".", "_" or "-"' }),
    version: VersionSchema,
    /** argv of the agent, argv[0] inside the release. */
    entrypoint: z.array(z.string().min(1).max(4096)).min(1).max(64).refine((e) => isPathInsideRelease(e[0] ?? ''), {
      message: 'entrypoint[0] must be a relative path inside the release',
    }),
    services: z.array(ServiceSpecSchema).max(64).default([]),
    /** Linux capabilities the agent runs with (default CAP_NET_ADMIN CAP_NET_RAW). */
    capabilities: z.array(z.string().regex(/^CAP_[A-Z_]+$/)).max(64).optional(),
    created: z.string().max(64).optional(),
  })
  .refine((m) => new Set(m.services.map((s) => s.name)).size === m.services.length, { message: 'service names must be unique', path: ['services'] });
export type Manifest = z.output<typeof ManifestSchema>;

/** Written by the updater into the release dir before it becomes visible; the agent reports `id`. */
export const SidecarSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  version: VersionSchema,
  installedAt: z.string(),
});
export type Sidecar = z.output<typeof SidecarSchema>;

/** `<version>-<first 12 hex of the id>` */
export function releaseDirName(version: string, id: string): string {
  return `${version}-${id.slice(0, 12)}`;
}
