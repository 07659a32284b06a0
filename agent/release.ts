// What release the agent runs: the manifest's services and the updater's sidecar, read from the working directory.
import { realpath, readFile } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { MANIFEST_FILE, ManifestSchema, SIDECAR_FILE, SidecarSchema, type Manifest, type ServiceSpec, type Sidecar } from '../shared/release-manifest.js';
import { formatZodIssues } from '../shared/validation.js';
import { agentError } from './errors.js';

/** A service ready to spawn: its spec plus the executable resolved inside the release. */
export interface ResolvedService extends ServiceSpec {
  readonly executable: string;
}

export interface ReleaseInfo {
  readonly dir: string;
  /** The sidecar's id, "unknown" outside an installed release. */
  readonly release: string;
  readonly version: string;
  readonly manifest: Manifest | null;
  readonly sidecar: Sidecar | null;
  readonly services: readonly ResolvedService[];
}

async function readJsonIfPresent(path: string, onBad: (message: string, cause: unknown) => Error): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw onBad(`${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw onBad(`${path} is not valid JSON (${(err as Error).message})`, err);
  }
}

/**
 * Read the release in `dir`. A missing manifest means no services (the agent alone); an invalid one,
 * a damaged sidecar, or a service command that is missing or leaves the release is a startup error.
 */
export async function loadRelease(dir: string): Promise<ReleaseInfo> {
  const manifestPath = join(dir, MANIFEST_FILE);
  const sidecarPath = join(dir, SIDECAR_FILE);
  const badManifest = (message: string, cause?: unknown) => agentError('SWARM_ERR_AGENT_MANIFEST_INVALID', message, { cause });
  const badSidecar = (message: string, cause?: unknown) => agentError('SWARM_ERR_AGENT_SIDECAR_INVALID', message, { cause });

  const rawManifest = await readJsonIfPresent(manifestPath, badManifest);
  let manifest: Manifest | null = null;
  if (rawManifest !== undefined) {
    const r = ManifestSchema.safeParse(rawManifest);
    if (!r.success) throw badManifest(`${manifestPath}: ${formatZodIssues(r.error)}`);
    manifest = r.data;
  }
  const rawSidecar = await readJsonIfPresent(sidecarPath, badSidecar);
  let sidecar: Sidecar | null = null;
  if (rawSidecar !== undefined) {
    const r = SidecarSchema.safeParse(rawSidecar);
    if (!r.success) throw badSidecar(`${sidecarPath}: ${formatZodIssues(r.error)}; reinstall the release`);
    sidecar = r.data;
  }
  const services = manifest ? await Promise.all(manifest.services.map((s) => resolveService(dir, s))) : [];
  return Object.freeze({
    dir,
    release: sidecar?.id ?? 'unknown',
    version: sidecar?.version ?? manifest?.version ?? 'unknown',
    manifest,
    sidecar,
    services,
  });
}

/** Resolve command[0]: an absolute system binary as is, a relative one inside the release (links included). */
export async function resolveService(dir: string, spec: ServiceSpec): Promise<ResolvedService> {
  const command0 = spec.command[0]!;
  if (isAbsolute(command0)) return Object.freeze({ ...spec, executable: command0 });
  const root = await realpath(dir);
  let real: string;
  try {
    real = await realpath(join(root, command0));
  } catch (err) {
    throw agentError('SWARM_ERR_AGENT_COMMAND_INVALID', `service ${spec.name}: ${command0} is not in the release ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  if (!real.startsWith(root + sep)) {
    throw agentError('SWARM_ERR_AGENT_COMMAND_INVALID', `service ${spec.name}: ${command0} resolves to ${real}, outside the release ${dir}`);
  }
  return Object.freeze({ ...spec, executable: join(root, command0) });
}
